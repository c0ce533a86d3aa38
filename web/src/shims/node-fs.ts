// The browser has no file system: the page hands scenario text to parseScenario, never a path.
export function readFileSync(): never {
  throw new Error('no file system in the browser');
}
export function statSync(): never {
  throw new Error('no file system in the browser');
}
