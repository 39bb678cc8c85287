// Loads the package with `load` (a require) and catches the wasm module's
// memory as it instantiates (the package does not export it).
export function loadCatchingMemory(load) {
  let memory;
  const Instance = WebAssembly.Instance;
  WebAssembly.Instance = function (module, imports) {
    const instance = new Instance(module, imports);
    memory ??= instance.exports.memory;
    return instance;
  };
  try {
    const exports = load();
    return { exports, memory };
  } finally {
    WebAssembly.Instance = Instance;
  }
}
