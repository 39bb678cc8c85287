
/** Options for `Mesh.fromYaml` / `Mesh.fromFiles`. */
export interface MeshOptions {
  /** Name messages use for the text (`fromYaml`); default `<inline>`. */
  fileName?: string;
  /** Namespace of resources that name none; default `default`. */
  defaultNamespace?: string;
  /**
   * Istio's MeshConfig (what istiod reads from its `--meshConfig` file): YAML
   * text, or an object in istiod's camelCase shape, e.g.
   * `{outboundTrafficPolicy: {mode: "REGISTRY_ONLY"}}`. It replaces a ConfigMap
   * `istio-system/istio` among the files; its problems are `check()` messages
   * from `<meshConfig>`. See spec/mesh-config.md for the fields read.
   */
  meshConfig?: string | Record<string, unknown>;
  /** Shorthand for `meshConfig.rootNamespace` (not with `meshConfig`); default `istio-system`. */
  rootNamespace?: string;
  /** Cluster domain suffix; default `cluster.local`. */
  domainSuffix?: string;
  /** Shorthand for `meshConfig.outboundTrafficPolicy.mode` (not with `meshConfig`); default `ALLOW_ANY`. */
  outboundTrafficPolicy?: "ALLOW_ANY" | "REGISTRY_ONLY";
  /** Throw an `Error` listing the error messages instead of compiling what loaded. */
  strict?: boolean;
  /**
   * Input limits raised (or lowered) on purpose, by lower-case name (README
   * "Limits"): `{max_input_bytes: "1GiB", max_documents: 1_000_000}`. A byte
   * limit also takes a size (`"500KB"`, `"64MiB"`). The mesh decides within
   * its request limits. An unknown name or a bad value throws an `Error`
   * naming it.
   */
  limits?: Limits;
}

/** The raisable limits, by lower-case name. */
export type LimitName =
  | "max_input_bytes"
  | "max_documents"
  | "max_aliases"
  | "max_anchor_expansion_events"
  | "max_nodes"
  | "max_rules_per_host"
  | "max_request_headers"
  | "max_request_header_bytes"
  | "max_request_path_bytes"
  | "max_scenario_hosts"
  | "max_scenario_operations"
  | "max_scenario_host_ticks";

/** Limit values by name: a number, or text (`"1GiB"`, `"1_000_000"`). */
export type Limits = Partial<Record<LimitName, number | string>>;

/** The calling workload (`meshroute::decide::Caller`). */
export interface Caller {
  /** Namespace of the calling workload; default `default`. */
  namespace?: string;
  /** Labels of the calling workload (for `sourceLabels`). */
  labels?: Record<string, string>;
}

/** A request to decide (`meshroute::Request`; spec: route-tests.md "The request"). */
export interface RouteRequest {
  /** The `:authority`; may carry `:port`. */
  host: string;
  /** Destination port; default: the port in `host`, else 80 (443 for https). */
  port?: number;
  /** HTTP method; default `GET`. */
  method?: string;
  /** Path with optional `?query`; default `/`. */
  path?: string;
  /** `http` or `https`; default `http`. */
  scheme?: "http" | "https";
  /** Header name to value, or to a list for repeated headers. */
  headers?: Record<string, string | string[]>;
  /**
   * `mesh` (a sidecar), `namespace/name` of one Gateway, or
   * `namespace/key=value[,key=value][@address]`: the gateway workload with
   * those labels, which gets every Gateway selecting it, merged as istiod
   * merges them; default `mesh`.
   */
  gateway?: string;
  /** The calling workload. */
  source?: Caller;
  /** Which route list applies; default `http`. */
  protocol?: "http" | "tls" | "tcp";
  /** TLS server name, for `tls`. */
  sni?: string;
  /** Original destination IP, for `destinationSubnets`. */
  destinationIp?: string;
}

/** What happens to the request. */
export type Outcome =
  | "route"
  | "redirect"
  | "directResponse"
  | "notFound"
  | "defaultRoute"
  | "passthrough";

/** The matched rule: position in the VirtualService's http/tls/tcp list. */
export interface RuleRef {
  index: number;
  name?: string;
}

/** Istio's load-balancer settings (DestinationRule `trafficPolicy.loadBalancer`). */
export interface LoadBalancerSettings {
  simple?: "UNSPECIFIED" | "LEAST_CONN" | "RANDOM" | "PASSTHROUGH" | "ROUND_ROBIN" | "LEAST_REQUEST";
  consistentHash?: {
    httpHeaderName?: string;
    httpCookie?: { name?: string; path?: string; ttl?: string };
    useSourceIp?: boolean;
    httpQueryParameterName?: string;
    ringHash?: { minimumRingSize?: number };
    maglev?: { tableSize?: number };
    minimumRingSize?: number;
  };
  localityLbSetting?: { [field: string]: unknown };
  warmupDurationSecs?: string;
  [field: string]: unknown;
}

/** Istio's connection-pool settings. */
export interface ConnectionPoolSettings {
  tcp?: {
    maxConnections?: number;
    connectTimeout?: string;
    maxConnectionDuration?: string;
    idleTimeout?: string;
    [field: string]: unknown;
  };
  http?: {
    http1MaxPendingRequests?: number;
    http2MaxRequests?: number;
    maxRequestsPerConnection?: number;
    maxRetries?: number;
    idleTimeout?: string;
    maxConcurrentStreams?: number;
    [field: string]: unknown;
  };
}

/** Istio's outlier-detection settings. */
export interface OutlierDetection {
  consecutive5xxErrors?: number;
  consecutiveGatewayErrors?: number;
  consecutiveLocalOriginFailures?: number;
  splitExternalLocalOriginErrors?: boolean;
  interval?: string;
  baseEjectionTime?: string;
  maxEjectionPercent?: number;
  minHealthPercent?: number;
}

/** Istio's client TLS settings. */
export interface ClientTlsSettings {
  mode?: "DISABLE" | "SIMPLE" | "MUTUAL" | "ISTIO_MUTUAL";
  sni?: string;
  subjectAltNames?: string[];
  credentialName?: string;
  insecureSkipVerify?: boolean;
  [field: string]: unknown;
}

/** The traffic policy in force for one destination, in Istio's TrafficPolicy shape. */
export interface TrafficPolicy {
  loadBalancer?: LoadBalancerSettings;
  connectionPool?: ConnectionPoolSettings;
  outlierDetection?: OutlierDetection;
  tls?: ClientTlsSettings;
  [field: string]: unknown;
}

/** One weighted destination. */
export interface Destination {
  /** FQDN of the destination service. */
  host: string;
  subset?: string;
  port?: number;
  /** Configured weight (100 for a lone destination); share = weight / sum. */
  weight: number;
  /** Envoy cluster name `outbound|PORT|SUBSET|HOST`. */
  cluster: string;
  policy?: TrafficPolicy;
  /** Why traffic to this destination fails at runtime, when it will. */
  problem?: string;
}

/** A redirect answered by the proxy. */
export interface Redirect {
  status: number;
  /** The full Location header. */
  location: string;
}

/** A fixed response answered by the proxy. */
export interface DirectResponse {
  status: number;
  body?: string;
}

/** Path and authority sent upstream after rewrites. */
export interface Rewrite {
  path?: string;
  authority?: string;
}

/** The retry policy in force. */
export interface Retries {
  attempts: number;
  perTryTimeout?: string;
  retryOn?: string;
  backoff?: string;
  /** True when Istio's default policy applied. */
  default?: boolean;
}

/** Fault injection on the route. */
export interface Fault {
  delay?: { fixedDelay: string; percent: number };
  abort?: { httpStatus?: number; grpcStatus?: string; percent: number };
}

/** One mirror target. */
export interface Mirror {
  host: string;
  subset?: string;
  port?: number;
  cluster: string;
  percent: number;
}

/** Header operations. */
export interface HeaderOps {
  set?: Record<string, string>;
  add?: Record<string, string>;
  remove?: string[];
}

/** Istio's CorsPolicy. */
export interface CorsPolicy {
  allowOrigins?: Array<{ exact?: string; prefix?: string; regex?: string }>;
  allowMethods?: string[];
  allowHeaders?: string[];
  exposeHeaders?: string[];
  maxAge?: string;
  allowCredentials?: boolean;
  [field: string]: unknown;
}

/** How one considered item fared. */
export type Verdict = "matched" | "failed" | "skipped" | "note";

/** One step of the explanation. */
export interface TraceEntry {
  /** What was considered: `host`, `virtualService`, `rule`, `match`, `destination`, `policy`, `default`, ... */
  stage: string;
  /** Which one (`default/reviews`, `http[1]`, `http[0].match[2]`). */
  subject: string;
  verdict: Verdict;
  /** Why, in words a person can follow. */
  detail: string;
}

/** Where a request goes and why (`meshroute::Decision`; spec: route-tests.md "The decision"). */
export interface Decision {
  outcome: Outcome;
  /** `namespace/name` of the VirtualService whose rule matched. */
  virtualService?: string;
  /** For a delegated rule, the root VirtualService. */
  delegatedFrom?: string;
  rule?: RuleRef;
  destinations?: Destination[];
  redirect?: Redirect;
  directResponse?: DirectResponse;
  rewrite?: Rewrite;
  /** Overall timeout as Istio writes it (`5s`); absent = none. */
  timeout?: string;
  retries?: Retries;
  fault?: Fault;
  mirrors?: Mirror[];
  requestHeaders?: HeaderOps;
  responseHeaders?: HeaderOps;
  cors?: CorsPolicy;
  /** Why; filled by `explain`, absent for `route`. */
  trace?: TraceEntry[];
}

/** Message severity. */
export type Severity = "Info" | "Warning" | "Error";

/** A file and a 1-based line and column (0 = unknown). */
export interface Source {
  file: string;
  line: number;
  column: number;
}

/** One diagnostic (`meshroute::Message`). */
export interface Message {
  /** Istio analyzer code (`IST0101`) or meshroute's own (`MR0001`). */
  code: string;
  severity: Severity;
  /** `Kind namespace/name`, absent for messages about the text itself. */
  resource?: string;
  /** Field path inside the resource (`spec.http[0].route[1].weight`). */
  fieldPath?: string;
  source: Source;
  text: string;
  /** One line saying how to fix it. */
  fix?: string;
}

/** One difference between the expected and the actual value. */
export interface Mismatch {
  /** Where (`destinations[0].subset`; empty for the whole value). */
  path: string;
  /** What the case expects (`null` = the key must be absent). */
  expected: JsonValue;
  /** What the decision has; absent/`null` when the key is absent. */
  actual: JsonValue | null;
}

/** Any JSON value. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One case of a route-test run. */
export interface RouteTestCase {
  name: string;
  /** Where the case starts in the test file. */
  location: { line: number; column: number };
  status: "passed" | "failed";
  /** The request after `defaults` were merged under it. */
  request: RouteRequest;
  /** The expectation (`expect`, or `{expectError}`). */
  expected: JsonValue;
  /** The decision's JSON, or `{error}` when there was none. */
  actual: Decision | { error: string };
  mismatches: Mismatch[];
  /** Why the case failed, when it is not a value mismatch. */
  note?: string;
}

/** The result of `runRouteTests`. */
export interface RouteTestReport {
  /** The test file's name. */
  file: string;
  kind: "routeTest" | "scenario" | null;
  /** Load and validation messages about the test's configuration. */
  messages: Message[];
  cases: RouteTestCase[];
  passed: number;
  failed: number;
  /** `N passed, M failed`. */
  summary: string;
}
