/**
 * A small hand-written fake of the Electron API, in the style of Electron Fiddle's tests/mocks:
 * only what electron/ uses, each piece typed against Electron's own electron.d.ts (`implements
 * Pick<…>` / `satisfies Pick<…>`) so that it cannot drift from the real signatures, and recording
 * what the code under test did so that tests can assert on it. Load it with
 * `vi.mock('electron', () => import('./fake-electron.js'))`; call resetFakeElectron() before each test.
 */
import { EventEmitter } from 'node:events';
import { pathToFileURL } from 'node:url';
import type * as Electron from 'electron';

/** An Electron event: `preventDefault()` and whatever the event carries (`url`, …). */
export class FakeEvent {
  defaultPrevented = false;
  constructor(fields: Record<string, unknown> = {}) {
    Object.assign(this, fields);
  }
  preventDefault(): void {
    this.defaultPrevented = true;
  }
}

/** A frame of a page: its URL and its parent (null for the main frame), as WebFrameMain has them. */
export class FakeWebFrameMain implements Pick<Electron.WebFrameMain, 'url'> {
  constructor(
    public url: string,
    public parent: FakeWebFrameMain | null = null,
  ) {}
}

let nextWebContentsId = 1;

export class FakeWebContents extends EventEmitter implements Pick<Electron.WebContents, 'id' | 'setWindowOpenHandler' | 'send' | 'isLoading' | 'getURL'> {
  readonly id = nextWebContentsId++;
  readonly mainFrame = new FakeWebFrameMain('about:blank');
  windowOpenHandler: Parameters<Electron.WebContents['setWindowOpenHandler']>[0] | null = null;
  readonly sent: Array<{ channel: string; args: unknown[] }> = [];
  loading = false;

  setWindowOpenHandler(handler: Parameters<Electron.WebContents['setWindowOpenHandler']>[0]): void {
    this.windowOpenHandler = handler;
  }
  send(channel: string, ...args: unknown[]): void {
    this.sent.push({ channel, args });
  }
  isLoading(): boolean {
    return this.loading;
  }
  getURL(): string {
    return this.mainFrame.url;
  }
  /** The page finished loading: 'did-finish-load' fires. */
  finishLoad(): void {
    this.loading = false;
    this.emit('did-finish-load');
  }
}

export class FakeBrowserWindow
  extends EventEmitter
  implements
    Pick<
      Electron.BrowserWindow,
      'loadFile' | 'show' | 'hide' | 'focus' | 'isVisible' | 'isFocused' | 'isDestroyed' | 'isMinimized' | 'restore' | 'center' | 'setPosition' | 'getPosition' | 'close' | 'destroy'
    >
{
  static instances: FakeBrowserWindow[] = [];
  static getAllWindows(): FakeBrowserWindow[] {
    return FakeBrowserWindow.instances.filter((w) => !w.destroyed);
  }
  static fromWebContents(contents: FakeWebContents): FakeBrowserWindow | null {
    return FakeBrowserWindow.instances.find((w) => w.webContents === contents) ?? null;
  }

  readonly webContents = new FakeWebContents();
  visible = false;
  focused = false;
  destroyed = false;
  minimized = false;
  centered = false;
  position: [number, number] = [0, 0];
  loaded: { file: string; options?: Electron.LoadFileOptions } | null = null;

  constructor(readonly options: Electron.BrowserWindowConstructorOptions = {}) {
    super();
    FakeBrowserWindow.instances.push(this);
  }

  async loadFile(file: string, options?: Electron.LoadFileOptions): Promise<void> {
    this.loaded = options ? { file, options } : { file };
    const url = pathToFileURL(file);
    for (const [key, value] of Object.entries(options?.query ?? {})) url.searchParams.set(key, value);
    this.webContents.mainFrame.url = url.href;
    this.webContents.loading = true;
  }
  show(): void {
    this.visible = true;
    this.emit('show');
  }
  hide(): void {
    this.visible = false;
    this.focused = false;
    this.emit('hide');
  }
  focus(): void {
    this.focused = true;
    this.emit('focus');
  }
  /** The user clicked elsewhere. */
  blur(): void {
    this.focused = false;
    this.emit('blur');
  }
  isVisible(): boolean {
    return this.visible;
  }
  isFocused(): boolean {
    return this.focused;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  isMinimized(): boolean {
    return this.minimized;
  }
  restore(): void {
    this.minimized = false;
  }
  center(): void {
    this.centered = true;
  }
  setPosition(x: number, y: number): void {
    this.position = [x, y];
  }
  getPosition(): number[] {
    return [...this.position];
  }
  /** As Electron: 'close' (cancellable), then, unless cancelled, the window is destroyed and 'closed' fires. */
  close(): void {
    const event = new FakeEvent();
    this.emit('close', event);
    if (!event.defaultPrevented) this.destroy();
  }
  destroy(): void {
    this.destroyed = true;
    this.visible = false;
    this.emit('closed');
  }
}

/** The nativeImage of a file: remembers which file, so that tests can tell the tray icon state. */
export class FakeNativeImage implements Pick<Electron.NativeImage, 'isEmpty'> {
  constructor(readonly path: string) {}
  isEmpty(): boolean {
    return false;
  }
}

export const nativeImage = {
  createFromPath: (path: string) => new FakeNativeImage(path) as unknown as Electron.NativeImage,
} satisfies Pick<typeof Electron.nativeImage, 'createFromPath'>;

/** A menu built from a template: its items are the template entries, clickable by label. */
export class FakeMenu {
  static built: FakeMenu[] = [];
  static buildFromTemplate(template: Electron.MenuItemConstructorOptions[]): FakeMenu {
    const menu = new FakeMenu(template.map((item) => ({ ...item })));
    FakeMenu.built.push(menu);
    return menu;
  }
  constructor(readonly items: Electron.MenuItemConstructorOptions[]) {}
  labels(): string[] {
    return this.items.filter((item) => item.type !== 'separator').map((item) => item.label ?? '');
  }
  item(label: string): Electron.MenuItemConstructorOptions {
    const found = this.items.find((item) => item.label === label);
    if (!found) throw new Error(`no menu item "${label}" in ${JSON.stringify(this.labels())}`);
    return found;
  }
  /** Clicks an item as Electron does: a checkbox flips first, then `click` runs. */
  click(label: string): void {
    const item = this.item(label);
    if (item.enabled === false) throw new Error(`menu item "${label}" is disabled`);
    if (item.type === 'checkbox') item.checked = !item.checked;
    item.click?.(item as unknown as Electron.MenuItem, undefined, new FakeEvent() as unknown as Electron.KeyboardEvent);
  }
}

export class FakeTray extends EventEmitter implements Pick<Electron.Tray, 'setImage' | 'setTitle' | 'setToolTip' | 'setIgnoreDoubleClickEvents' | 'getBounds' | 'destroy'> {
  static instances: FakeTray[] = [];
  image: FakeNativeImage;
  title = '';
  tooltip = '';
  contextMenu: FakeMenu | null = null;
  poppedUp: FakeMenu[] = [];
  ignoreDoubleClick = false;
  destroyed = false;
  bounds: Electron.Rectangle = { x: 0, y: 0, width: 0, height: 0 };

  constructor(image: Electron.NativeImage | string) {
    super();
    this.image = typeof image === 'string' ? new FakeNativeImage(image) : (image as unknown as FakeNativeImage);
    FakeTray.instances.push(this);
  }
  setImage(image: Electron.NativeImage | string): void {
    this.image = typeof image === 'string' ? new FakeNativeImage(image) : (image as unknown as FakeNativeImage);
  }
  setTitle(title: string): void {
    this.title = title;
  }
  setToolTip(tooltip: string): void {
    this.tooltip = tooltip;
  }
  setContextMenu(menu: FakeMenu | null): void {
    this.contextMenu = menu;
  }
  popUpContextMenu(menu?: FakeMenu): void {
    if (menu) this.poppedUp.push(menu);
  }
  setIgnoreDoubleClickEvents(ignore: boolean): void {
    this.ignoreDoubleClick = ignore;
  }
  getBounds(): Electron.Rectangle {
    return { ...this.bounds };
  }
  destroy(): void {
    this.destroyed = true;
  }
}

export class FakeNotification extends EventEmitter implements Pick<Electron.Notification, 'show' | 'close'> {
  static instances: FakeNotification[] = [];
  static supported = true;
  static isSupported(): boolean {
    return FakeNotification.supported;
  }
  shown = false;
  constructor(readonly options: Electron.NotificationConstructorOptions = {}) {
    super();
    FakeNotification.instances.push(this);
  }
  show(): void {
    this.shown = true;
  }
  close(): void {
    this.emit('close', new FakeEvent());
  }
}

type InvokeHandler = (event: Electron.IpcMainInvokeEvent, ...args: unknown[]) => unknown;

class FakeIpcMain extends EventEmitter implements Pick<Electron.IpcMain, 'handle' | 'removeHandler'> {
  readonly handlers = new Map<string, InvokeHandler>();
  handle(channel: string, listener: InvokeHandler): void {
    // As Electron: a second handler for one channel is a programming error.
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.handlers.set(channel, listener);
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }
  /** Calls the handler of `channel` as a renderer's invoke would, from `sender`. */
  async invoke(channel: string, sender: FakeInvokeSender, ...args: unknown[]): Promise<unknown> {
    const handler = this.handlers.get(channel);
    if (!handler) throw new Error(`No handler registered for '${channel}'`);
    const event = { sender: sender.contents, senderFrame: sender.frame, frameId: 1, processId: 1, type: 'frame' } as unknown as Electron.IpcMainInvokeEvent;
    return handler(event, ...args);
  }
}

/** Who sends an IPC call: a web contents and the frame in it. */
export interface FakeInvokeSender {
  contents: FakeWebContents;
  frame: FakeWebFrameMain | null;
}

export const ipcMain = new FakeIpcMain();

/** The renderer side: invoke goes to ipcMain's handlers as `sender`; main's sends arrive through `emit`. */
class FakeIpcRenderer extends EventEmitter implements Pick<Electron.IpcRenderer, 'invoke'> {
  sender: FakeInvokeSender | null = null;
  invoke(channel: string, ...args: unknown[]): Promise<unknown> {
    if (!this.sender) throw new Error('fake ipcRenderer: set ipcRenderer.sender first');
    // Structured clone at the boundary, as Electron serializes IPC arguments and replies.
    return ipcMain.invoke(channel, this.sender, ...structuredClone(args)).then((reply) => structuredClone(reply));
  }
}

export const ipcRenderer = new FakeIpcRenderer();

export const contextBridge = {
  exposed: {} as Record<string, unknown>,
  exposeInMainWorld(apiKey: string, api: unknown): void {
    if (apiKey in contextBridge.exposed) throw new Error(`Cannot bind an API on top of an existing property on the window object: ${apiKey}`);
    contextBridge.exposed[apiKey] = api;
  },
} satisfies Pick<Electron.ContextBridge, 'exposeInMainWorld'> & Record<string, unknown>;

export const shell = {
  opened: [] as string[],
  shownInFolder: [] as string[],
  async openExternal(url: string): Promise<void> {
    shell.opened.push(url);
  },
  showItemInFolder(fullPath: string): void {
    shell.shownInFolder.push(fullPath);
  },
} satisfies Pick<Electron.Shell, 'openExternal' | 'showItemInFolder'> & Record<string, unknown>;

type PermissionRequestHandler = Parameters<Electron.Session['setPermissionRequestHandler']>[0];
type PermissionCheckHandler = Parameters<Electron.Session['setPermissionCheckHandler']>[0];
type HeadersListener = (details: Electron.OnHeadersReceivedListenerDetails, callback: (response: Electron.HeadersReceivedResponse) => void) => void;

class FakeSession implements Pick<Electron.Session, 'setPermissionRequestHandler' | 'setPermissionCheckHandler'> {
  permissionRequestHandler: PermissionRequestHandler = null;
  permissionCheckHandler: PermissionCheckHandler = null;
  headersListener: HeadersListener | null = null;
  readonly webRequest = {
    onHeadersReceived: (listener: HeadersListener | null): void => {
      this.headersListener = listener;
    },
  };
  setPermissionRequestHandler(handler: PermissionRequestHandler): void {
    this.permissionRequestHandler = handler;
  }
  setPermissionCheckHandler(handler: PermissionCheckHandler): void {
    this.permissionCheckHandler = handler;
  }
}

export const session = { defaultSession: new FakeSession() };

export const powerMonitor = new EventEmitter();

export const screen = {
  cursor: { x: 0, y: 0 } as Electron.Point,
  workArea: { x: 0, y: 0, width: 1920, height: 1080 } as Electron.Rectangle,
  nearestPointAsked: [] as Electron.Point[],
  getCursorScreenPoint(): Electron.Point {
    return { ...screen.cursor };
  },
  getDisplayNearestPoint(point: Electron.Point): Electron.Display {
    screen.nearestPointAsked.push(point);
    return { workArea: { ...screen.workArea }, bounds: { ...screen.workArea } } as Electron.Display;
  },
} satisfies Pick<Electron.Screen, 'getCursorScreenPoint' | 'getDisplayNearestPoint'> & Record<string, unknown>;

export const dialog = {
  /** What the next save dialog answers: a path, or null for Cancel. */
  nextSavePath: null as string | null,
  saveDialogs: [] as Array<{ parent: unknown; options: Electron.SaveDialogOptions }>,
  errorBoxes: [] as Array<{ title: string; content: string }>,
  async showSaveDialog(parentOrOptions: unknown, maybeOptions?: Electron.SaveDialogOptions): Promise<Electron.SaveDialogReturnValue> {
    const [parent, options] = maybeOptions ? [parentOrOptions, maybeOptions] : [null, parentOrOptions as Electron.SaveDialogOptions];
    dialog.saveDialogs.push({ parent, options });
    return dialog.nextSavePath === null ? { canceled: true, filePath: '' } : { canceled: false, filePath: dialog.nextSavePath };
  },
  showErrorBox(title: string, content: string): void {
    dialog.errorBoxes.push({ title, content });
  },
} satisfies Pick<Electron.Dialog, 'showErrorBox'> & Record<string, unknown>;

class FakeApp
  extends EventEmitter
  implements
    Pick<Electron.App, 'requestSingleInstanceLock' | 'setAppUserModelId' | 'setLoginItemSettings' | 'getAppPath' | 'getPath' | 'getVersion' | 'quit' | 'exit' | 'whenReady' | 'enableSandbox'>
{
  singleInstanceLock = true;
  appUserModelId: string | null = null;
  loginItemSettings: Electron.Settings[] = [];
  appPath = process.cwd();
  paths: Record<string, string> = {};
  quitCalls = 0;
  exitCode: number | null = null;
  sandboxEnabled = false;
  isPackaged = false;
  readonly dock = { hidden: false, hide: () => void (this.dock.hidden = true) };
  readonly commandLine = { switches: {} as Record<string, string>, getSwitchValue: (name: string): string => this.commandLine.switches[name] ?? '' };

  requestSingleInstanceLock(): boolean {
    return this.singleInstanceLock;
  }
  setAppUserModelId(id: string): void {
    this.appUserModelId = id;
  }
  setLoginItemSettings(settings: Electron.Settings): void {
    this.loginItemSettings.push(settings);
  }
  getAppPath(): string {
    return this.appPath;
  }
  getPath(name: Parameters<Electron.App['getPath']>[0]): string {
    const path = this.paths[name];
    if (!path) throw new Error(`fake app: no path "${name}" set`);
    return path;
  }
  getVersion(): string {
    return '0.0.0-fake';
  }
  /** As Electron: 'before-quit', then 'will-quit' (both cancellable), then 'quit'. */
  quit(): void {
    this.quitCalls++;
    const before = new FakeEvent();
    this.emit('before-quit', before);
    if (before.defaultPrevented) return;
    const will = new FakeEvent();
    this.emit('will-quit', will);
    if (!will.defaultPrevented) this.emit('quit');
  }
  exit(exitCode = 0): void {
    this.exitCode = exitCode;
  }
  whenReady(): Promise<void> {
    return Promise.resolve();
  }
  enableSandbox(): void {
    this.sandboxEnabled = true;
  }
}

export const app = new FakeApp();

export { FakeBrowserWindow as BrowserWindow, FakeMenu as Menu, FakeNotification as Notification, FakeTray as Tray };

/** Forgets everything recorded and restores the defaults; call before each test. */
export function resetFakeElectron(): void {
  FakeBrowserWindow.instances = [];
  FakeMenu.built = [];
  FakeTray.instances = [];
  FakeNotification.instances = [];
  FakeNotification.supported = true;
  ipcMain.handlers.clear();
  ipcMain.removeAllListeners();
  ipcRenderer.removeAllListeners();
  ipcRenderer.sender = null;
  for (const key of Object.keys(contextBridge.exposed)) delete contextBridge.exposed[key];
  shell.opened.length = 0;
  shell.shownInFolder.length = 0;
  session.defaultSession = new FakeSession();
  powerMonitor.removeAllListeners();
  screen.cursor = { x: 0, y: 0 };
  screen.workArea = { x: 0, y: 0, width: 1920, height: 1080 };
  screen.nearestPointAsked.length = 0;
  dialog.nextSavePath = null;
  dialog.saveDialogs.length = 0;
  dialog.errorBoxes.length = 0;
  app.removeAllListeners();
  Object.assign(app, { singleInstanceLock: true, appUserModelId: null, loginItemSettings: [], appPath: process.cwd(), paths: {}, quitCalls: 0, exitCode: null, sandboxEnabled: false, isPackaged: false });
  app.dock.hidden = false;
  app.commandLine.switches = {};
}

// electron-store reads `app`, `ipcMain` and `shell` from the default export.
export default { app, BrowserWindow: FakeBrowserWindow, Menu: FakeMenu, Notification: FakeNotification, Tray: FakeTray, ipcMain, ipcRenderer, contextBridge, shell, session, powerMonitor, nativeImage, screen, dialog };
