import { InvalidArgumentError } from 'commander';

/** Parses a whole number option within [min, max], with a message naming the option. */
export function parseWholeNumber(value: string, name: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}, not "${value}"`);
  return n;
}
