// Compiled by `tsc --noEmit --strict` in the tests: fails if the generated
// declarations lose their types (a wrong field below must be an error).
import { Mesh, type Decision, type Message, type RouteRequest } from '../pkg/node/meshroute_wasm.js';

const request: RouteRequest = { host: 'reviews', headers: { 'end-user': 'jason' }, source: { namespace: 'default' } };
const mesh: Mesh = Mesh.fromYaml('', { fileName: 'x.yaml', limits: { max_input_bytes: '1GiB', max_documents: 1_000_000 } });
const decision: Decision = mesh.route(request);
const subsets: (string | undefined)[] = (decision.destinations ?? []).map((d) => d.subset);
const weights: number[] = (decision.destinations ?? []).map((d) => d.weight);
const lines: number[] = mesh.check().map((m: Message) => m.source.line);
const outcome: 'route' | 'redirect' | 'directResponse' | 'notFound' | 'defaultRoute' | 'passthrough' = decision.outcome;
export { subsets, weights, lines, outcome };
