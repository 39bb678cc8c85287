// Must NOT compile: the declarations reject a misspelt request key and a wrong field type.
import { Mesh } from '../pkg/node/meshroute_wasm.js';
const mesh = Mesh.fromYaml('');
mesh.route({ host: 'reviews', hedaers: {} });
const n: number = mesh.route({ host: 'a' }).outcome;
Mesh.fromYaml('', { limits: { max_documnets: 5 } });
export { n };
