import { useId } from 'react';
import { RANGE_PRESETS, type RangeChoice, type RangePreset } from '../range.js';

/** Range presets plus custom UTC dates. */
export function RangePicker({ value, onChange }: { value: RangeChoice; onChange: (next: RangeChoice) => void }) {
  const id = useId();
  return (
    <div className="range-picker">
      <label htmlFor={`${id}-preset`}>Range</label>
      <select id={`${id}-preset`} value={value.preset} onChange={(event) => onChange({ ...value, preset: event.target.value as RangePreset })}>
        {RANGE_PRESETS.map((preset) => (
          <option key={preset.id} value={preset.id}>
            {preset.label}
          </option>
        ))}
      </select>
      {value.preset === 'custom' ? (
        <>
          <label htmlFor={`${id}-from`}>From (UTC)</label>
          <input id={`${id}-from`} type="date" value={value.fromDate} max={value.toDate} onChange={(event) => event.target.value && onChange({ ...value, fromDate: event.target.value })} />
          <label htmlFor={`${id}-to`}>To (UTC, included)</label>
          <input id={`${id}-to`} type="date" value={value.toDate} min={value.fromDate} onChange={(event) => event.target.value && onChange({ ...value, toDate: event.target.value })} />
        </>
      ) : null}
    </div>
  );
}

/** A small group of radio buttons, for granularity and grouping. */
export function Choice<T extends string>({ legend, options, value, onChange }: { legend: string; options: ReadonlyArray<{ id: T; label: string }>; value: T; onChange: (next: T) => void }) {
  const name = useId();
  return (
    <fieldset className="choice">
      <legend>{legend}</legend>
      {options.map((option) => (
        <label key={option.id} className={option.id === value ? 'choice__option choice__option--selected' : 'choice__option'}>
          <input type="radio" name={name} value={option.id} checked={option.id === value} onChange={() => onChange(option.id)} />
          {option.label}
        </label>
      ))}
    </fieldset>
  );
}
