// Catches the wasm module's memory as the package instantiates (the package
// does not export it): call before requiring the package; the returned
// function gives the memory once it is instantiated.
export function catchModuleMemory() {
  let memory;
  const Instance = WebAssembly.Instance;
  WebAssembly.Instance = function (module, imports) {
    const instance = new Instance(module, imports);
    memory ??= instance.exports.memory;
    return instance;
  };
  return () => memory;
}
