/*
 * Tests of every meshroute C function, including the error paths.
 * Usage: test_capi PATH/TO/reviews.yaml
 * Prints one line per failed check and a summary "capi: N passed, M failed".
 */
#include <meshroute.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

#define CHECK(cond)                                                             \
    do {                                                                        \
        if (cond) {                                                             \
            passed++;                                                           \
        } else {                                                                \
            failed++;                                                           \
            meshroute_str e_ = meshroute_last_error();                          \
            fprintf(stderr, "%s:%d: check failed: %s (last error: %.*s)\n",     \
                    __FILE__, __LINE__, #cond, (int)e_.len, e_.ptr);            \
        }                                                                       \
    } while (0)

#define OK(call) CHECK((call) == MESHROUTE_STATUS_OK)
#define STATUS(call, want) CHECK((call) == (want))

static meshroute_str s(const char *text) {
    meshroute_str out = {text, strlen(text)};
    return out;
}

static int str_eq(meshroute_str got, const char *want) {
    return got.ptr != NULL && got.len == strlen(want) && memcmp(got.ptr, want, got.len) == 0;
}

static int str_contains(meshroute_str got, const char *needle) {
    size_t n = strlen(needle);
    if (got.ptr == NULL || n > got.len) return 0;
    for (size_t i = 0; i + n <= got.len; i++)
        if (memcmp(got.ptr + i, needle, n) == 0) return 1;
    return 0;
}

static int last_error_contains(const char *needle) {
    return str_contains(meshroute_last_error(), needle);
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    char *buf = malloc(1 << 16);
    size_t n = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
    fclose(f);
    *len = n;
    return buf;
}

static meshroute_mesh *load(const char *text) {
    meshroute_mesh *mesh = NULL;
    meshroute_status st = meshroute_mesh_new(text, strlen(text), "test.yaml", 9, &mesh);
    CHECK(st == MESHROUTE_STATUS_OK && mesh != NULL);
    return mesh;
}

static meshroute_request request(const char *authority, const char *path) {
    meshroute_request r;
    memset(&r, 0, sizeof r);
    r.authority = s(authority);
    r.path = s(path);
    return r;
}

static void test_version_and_status(void) {
    meshroute_str v = meshroute_version();
    CHECK(v.ptr != NULL && v.len >= 5 && v.ptr[1] == '.');
    CHECK(meshroute_abi_version() == MESHROUTE_ABI_VERSION);
    CHECK(str_eq(meshroute_status_name(MESHROUTE_STATUS_OK), "MESHROUTE_STATUS_OK"));
    CHECK(str_eq(meshroute_status_name(MESHROUTE_STATUS_NULL_ARGUMENT), "MESHROUTE_STATUS_NULL_ARGUMENT"));
    CHECK(str_eq(meshroute_status_name(MESHROUTE_STATUS_INVALID_UTF8), "MESHROUTE_STATUS_INVALID_UTF8"));
    CHECK(str_eq(meshroute_status_name(MESHROUTE_STATUS_INVALID_HANDLE), "MESHROUTE_STATUS_INVALID_HANDLE"));
    CHECK(str_eq(meshroute_status_name(MESHROUTE_STATUS_INVALID_ARGUMENT), "MESHROUTE_STATUS_INVALID_ARGUMENT"));
    CHECK(str_eq(meshroute_status_name(MESHROUTE_STATUS_INVALID_REQUEST), "MESHROUTE_STATUS_INVALID_REQUEST"));
    CHECK(str_eq(meshroute_status_name(MESHROUTE_STATUS_OUT_OF_RANGE), "MESHROUTE_STATUS_OUT_OF_RANGE"));
    CHECK(str_eq(meshroute_status_name(MESHROUTE_STATUS_ABSENT), "MESHROUTE_STATUS_ABSENT"));
    CHECK(str_eq(meshroute_status_name(MESHROUTE_STATUS_PANIC), "MESHROUTE_STATUS_PANIC"));
    CHECK(str_eq(meshroute_status_name(9), "MESHROUTE_STATUS_UNKNOWN"));
    CHECK(str_eq(meshroute_status_name(0xffffffffu), "MESHROUTE_STATUS_UNKNOWN"));
}

static void test_panic_barrier(void) {
    STATUS(meshroute_debug_panic(), MESHROUTE_STATUS_PANIC);
    CHECK(last_error_contains("panic inside meshroute"));
    CHECK(last_error_contains("meshroute_debug_panic was called"));
    /* The library still works after a caught panic. */
    meshroute_mesh *mesh = load("");
    OK(meshroute_mesh_free(mesh));
}

static void test_load_errors(void) {
    meshroute_mesh *mesh = (meshroute_mesh *)1;
    STATUS(meshroute_mesh_new("x", 1, NULL, 0, NULL), MESHROUTE_STATUS_NULL_ARGUMENT);
    CHECK(last_error_contains("out is NULL"));
    STATUS(meshroute_mesh_new(NULL, 3, NULL, 0, &mesh), MESHROUTE_STATUS_NULL_ARGUMENT);
    CHECK(mesh == NULL);
    CHECK(last_error_contains("meshroute_mesh_new: text is NULL"));
    STATUS(meshroute_mesh_new("a: b", 4, NULL, 2, &mesh), MESHROUTE_STATUS_NULL_ARGUMENT);
    CHECK(last_error_contains("name is NULL"));
    STATUS(meshroute_mesh_new("a: \xff\xfe", 5, NULL, 0, &mesh), MESHROUTE_STATUS_INVALID_UTF8);
    CHECK(mesh == NULL && last_error_contains("text is not valid UTF-8"));
    STATUS(meshroute_mesh_new("", 0, "n\xc3", 2, &mesh), MESHROUTE_STATUS_INVALID_UTF8);
    CHECK(last_error_contains("name is not valid UTF-8"));
    STATUS(meshroute_mesh_new("", 0, NULL, (size_t)-1, &mesh), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_mesh_new("", (size_t)-1, NULL, 0, &mesh), MESHROUTE_STATUS_INVALID_ARGUMENT);
    /* NULL with length 0 is the empty text: a mesh with nothing in it. */
    OK(meshroute_mesh_new(NULL, 0, NULL, 0, &mesh));
    size_t count = 99;
    OK(meshroute_mesh_message_count(mesh, &count));
    CHECK(count == 0);
    OK(meshroute_mesh_free(mesh));
    OK(meshroute_mesh_free(NULL));
}

static void test_messages(void) {
    /* Not NUL-terminated on purpose: the length bounds the text. */
    const char text[] = "apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
                        "metadata: {name: bad, namespace: default}\nspec:\n  hosts: [ratings]\n  htp: []\nXXXX";
    meshroute_mesh *mesh = NULL;
    OK(meshroute_mesh_new(text, sizeof text - 5, "bad.yaml", 8, &mesh));
    size_t count = 0;
    OK(meshroute_mesh_message_count(mesh, &count));
    CHECK(count == 1);
    bool errors = false;
    OK(meshroute_mesh_has_errors(mesh, &errors));
    CHECK(errors);
    meshroute_message m;
    OK(meshroute_mesh_message(mesh, 0, &m));
    CHECK(str_eq(m.code, "MR0002"));
    CHECK(m.severity == MESHROUTE_SEVERITY_ERROR);
    CHECK(str_eq(m.file, "bad.yaml"));
    CHECK(m.line == 6 && m.column == 3);
    CHECK(str_contains(m.text, "htp"));
    CHECK(str_contains(m.resource, "bad"));
    CHECK(m.fix.ptr != NULL);
    STATUS(meshroute_mesh_message(mesh, 1, &m), MESHROUTE_STATUS_OUT_OF_RANGE);
    CHECK(last_error_contains("index 1, but there are 1 messages"));
    STATUS(meshroute_mesh_message(mesh, 0, NULL), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_mesh_message(NULL, 0, &m), MESHROUTE_STATUS_NULL_ARGUMENT);
    meshroute_str json;
    OK(meshroute_mesh_messages_json(mesh, &json));
    CHECK(str_contains(json, "\"code\":\"MR0002\""));
    CHECK(str_contains(json, "\"line\":6"));
    meshroute_str again;
    OK(meshroute_mesh_messages_json(mesh, &again));
    CHECK(again.ptr == json.ptr); /* cached, borrowed from the mesh */
    STATUS(meshroute_mesh_messages_json(mesh, NULL), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_mesh_messages_json(NULL, &json), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_mesh_message_count(NULL, &count), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_mesh_message_count(mesh, NULL), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_mesh_has_errors(NULL, &errors), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_mesh_has_errors(mesh, NULL), MESHROUTE_STATUS_NULL_ARGUMENT);
    OK(meshroute_mesh_free(mesh));

    /* A clean configuration has no errors. */
    mesh = load("apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: default}\nspec:\n  ports: [{name: http, port: 80}]\n");
    OK(meshroute_mesh_has_errors(mesh, &errors));
    CHECK(!errors);
    OK(meshroute_mesh_messages_json(mesh, &json));
    CHECK(str_eq(json, "[]"));
    OK(meshroute_mesh_free(mesh));
}

/* A root VirtualService whose `delegate` entries, each counted as the leaf's
 * routes, carry more HTTP routes than limits::MAX_RULES_PER_HOST
 * (317 x 317 = 100,489 > 100,000): the table leaves it out and the messages
 * say so (code MR0005, LIMIT_EXCEEDED). */
static void test_limits_message(void) {
    const int per_side = 317;
    const char *head = "apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
                       "metadata: {name: root, namespace: default}\nspec:\n  hosts: [t.example]\n  http:\n";
    const char *delegate = "  - delegate: {name: leaf}\n";
    const char *leaf = "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\n"
                       "metadata: {name: leaf, namespace: default}\nspec:\n  http:\n";
    const char *route = "  - route: [{destination: {host: t.example}}]\n";
    const char *entry = "---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\n"
                        "metadata: {name: t, namespace: default}\nspec:\n  hosts: [t.example]\n"
                        "  ports: [{number: 80, name: http, protocol: HTTP}]\n  resolution: DNS\n";
    size_t cap = strlen(head) + strlen(leaf) + strlen(entry) +
                 (size_t)per_side * (strlen(delegate) + strlen(route)) + 1;
    char *text = malloc(cap);
    CHECK(text != NULL);
    if (text == NULL) return;
    size_t len = 0;
    len += (size_t)sprintf(text + len, "%s", head);
    for (int i = 0; i < per_side; i++) len += (size_t)sprintf(text + len, "%s", delegate);
    len += (size_t)sprintf(text + len, "%s", leaf);
    for (int i = 0; i < per_side; i++) len += (size_t)sprintf(text + len, "%s", route);
    len += (size_t)sprintf(text + len, "%s", entry);

    meshroute_mesh *mesh = NULL;
    OK(meshroute_mesh_new(text, len, "limit.yaml", 10, &mesh));
    free(text);
    size_t count = 0;
    OK(meshroute_mesh_message_count(mesh, &count));
    int limit_messages = 0;
    for (size_t i = 0; i < count; i++) {
        meshroute_message m;
        OK(meshroute_mesh_message(mesh, i, &m));
        if (!str_eq(m.code, "MR0005")) continue;
        limit_messages++;
        CHECK(m.severity == MESHROUTE_SEVERITY_ERROR);
        CHECK(str_eq(m.resource, "VirtualService default/root"));
        CHECK(str_eq(m.file, "limit.yaml"));
        CHECK(m.line == 6);
        CHECK(str_contains(m.text, "MAX_RULES_PER_HOST"));
    }
    CHECK(limit_messages == 1);
    bool errors = false;
    OK(meshroute_mesh_has_errors(mesh, &errors));
    CHECK(errors);
    meshroute_str json;
    OK(meshroute_mesh_messages_json(mesh, &json));
    CHECK(str_contains(json, "\"code\":\"MR0005\""));
    OK(meshroute_mesh_free(mesh));
}

/* A kind meshroute does not model is an Info message, not an error. */
static void test_not_modelled_is_info(void) {
    meshroute_mesh *mesh = load("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
                                "metadata: {name: r, namespace: default}\nspec: {}\n");
    size_t count = 0;
    OK(meshroute_mesh_message_count(mesh, &count));
    CHECK(count == 1);
    meshroute_message m;
    OK(meshroute_mesh_message(mesh, 0, &m));
    CHECK(str_eq(m.code, "MR0007"));
    CHECK(m.severity == MESHROUTE_SEVERITY_INFO);
    CHECK(str_eq(m.resource, "HTTPRoute default/r"));
    CHECK(m.line == 1 && m.column == 1);
    bool errors = true;
    OK(meshroute_mesh_has_errors(mesh, &errors));
    CHECK(!errors);
    OK(meshroute_mesh_free(mesh));
}

static void test_route_with_header(meshroute_mesh *mesh) {
    meshroute_header headers[] = {{s("End-User"), s("jason")}};
    meshroute_request r = request("reviews:9080", "/reviews/0");
    r.headers = headers;
    r.header_count = 1;
    r.method = s("GET");
    meshroute_decision *d = NULL;
    OK(meshroute_mesh_decide(mesh, &r, &d));
    meshroute_outcome outcome;
    OK(meshroute_decision_outcome(d, &outcome));
    CHECK(outcome == MESHROUTE_OUTCOME_ROUTE);
    meshroute_str text;
    OK(meshroute_decision_outcome_name(d, &text));
    CHECK(str_eq(text, "route"));
    OK(meshroute_decision_virtual_service(d, &text));
    CHECK(str_eq(text, "default/reviews"));
    size_t index = 99;
    OK(meshroute_decision_rule_index(d, &index));
    CHECK(index == 0);
    OK(meshroute_decision_rule_name(d, &text));
    CHECK(str_eq(text, "jason"));
    size_t count = 0;
    OK(meshroute_decision_destination_count(d, &count));
    CHECK(count == 1);
    meshroute_destination dest;
    OK(meshroute_decision_destination(d, 0, &dest));
    CHECK(str_eq(dest.host, "reviews.default.svc.cluster.local"));
    CHECK(dest.has_subset && str_eq(dest.subset, "v2"));
    CHECK(dest.has_port && dest.port == 9080);
    CHECK(dest.weight == 100);
    CHECK(str_eq(dest.cluster, "outbound|9080|v2|reviews.default.svc.cluster.local"));
    STATUS(meshroute_decision_destination(d, 1, &dest), MESHROUTE_STATUS_OUT_OF_RANGE);
    CHECK(last_error_contains("index 1, but there are 1 destinations"));
    OK(meshroute_decision_timeout(d, &text));
    CHECK(str_eq(text, "10s"));
    uint16_t status = 0;
    STATUS(meshroute_decision_redirect(d, &status, &text), MESHROUTE_STATUS_ABSENT);
    CHECK(last_error_contains("no redirect"));
    STATUS(meshroute_decision_direct_response(d, &status, &text), MESHROUTE_STATUS_ABSENT);
    OK(meshroute_decision_json(d, &text));
    CHECK(str_contains(text, "\"outcome\":\"route\""));
    CHECK(str_contains(text, "\"subset\":\"v2\""));
    CHECK(!str_contains(text, "\"trace\""));
    OK(meshroute_decision_trace_count(d, &count));
    CHECK(count == 0);
    meshroute_trace_entry t;
    STATUS(meshroute_decision_trace_entry(d, 0, &t), MESHROUTE_STATUS_OUT_OF_RANGE);
    OK(meshroute_decision_free(d));

    /* The nearest case that must not match: another user, header name in any case. */
    headers[0].value = s("Jason");
    OK(meshroute_mesh_decide(mesh, &r, &d));
    OK(meshroute_decision_rule_index(d, &index));
    CHECK(index == 4);
    STATUS(meshroute_decision_rule_name(d, &text), MESHROUTE_STATUS_ABSENT);
    STATUS(meshroute_decision_timeout(d, &text), MESHROUTE_STATUS_ABSENT);
    OK(meshroute_decision_free(d));
}

static void test_weighted_and_pick(meshroute_mesh *mesh) {
    meshroute_request r = request("reviews:9080", "");
    meshroute_decision *d = NULL;
    OK(meshroute_mesh_decide(mesh, &r, &d));
    size_t count = 0, index = 99;
    OK(meshroute_decision_destination_count(d, &count));
    CHECK(count == 2);
    meshroute_destination a, b;
    OK(meshroute_decision_destination(d, 0, &a));
    OK(meshroute_decision_destination(d, 1, &b));
    CHECK(a.weight == 75 && b.weight == 25);
    CHECK(str_eq(a.subset, "v1") && str_eq(b.subset, "v2"));
    OK(meshroute_decision_pick(d, 74, &index));
    CHECK(index == 0);
    OK(meshroute_decision_pick(d, 75, &index));
    CHECK(index == 1);
    OK(meshroute_decision_pick(d, 174, &index));
    CHECK(index == 0);
    STATUS(meshroute_decision_pick(d, 1, NULL), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_decision_pick(NULL, 1, &index), MESHROUTE_STATUS_NULL_ARGUMENT);
    OK(meshroute_decision_free(d));
}

static void test_redirect_and_direct_response(meshroute_mesh *mesh) {
    meshroute_request r = request("reviews:9080", "/old/page");
    meshroute_decision *d = NULL;
    OK(meshroute_mesh_decide(mesh, &r, &d));
    meshroute_outcome outcome;
    OK(meshroute_decision_outcome(d, &outcome));
    CHECK(outcome == MESHROUTE_OUTCOME_REDIRECT);
    uint16_t status = 0;
    meshroute_str text;
    OK(meshroute_decision_redirect(d, &status, &text));
    CHECK(status == 301 && str_eq(text, "http://reviews:9080/new"));
    STATUS(meshroute_decision_redirect(d, NULL, &text), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_decision_redirect(d, &status, NULL), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_decision_redirect(NULL, &status, &text), MESHROUTE_STATUS_NULL_ARGUMENT);
    size_t count = 9, index = 0;
    OK(meshroute_decision_destination_count(d, &count));
    CHECK(count == 0);
    STATUS(meshroute_decision_pick(d, 1, &index), MESHROUTE_STATUS_ABSENT);
    OK(meshroute_decision_free(d));

    r = request("reviews:9080", "/teapot");
    OK(meshroute_mesh_decide(mesh, &r, &d));
    OK(meshroute_decision_outcome(d, &outcome));
    CHECK(outcome == MESHROUTE_OUTCOME_DIRECT_RESPONSE);
    OK(meshroute_decision_direct_response(d, &status, &text));
    CHECK(status == 418 && str_eq(text, "short and stout"));
    STATUS(meshroute_decision_direct_response(d, NULL, &text), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_decision_direct_response(d, &status, NULL), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_decision_direct_response(NULL, &status, &text), MESHROUTE_STATUS_NULL_ARGUMENT);
    OK(meshroute_decision_free(d));

    /* /teapotx is the nearest path that is not the exact match. */
    r = request("reviews:9080", "/teapotx");
    OK(meshroute_mesh_decide(mesh, &r, &d));
    OK(meshroute_decision_outcome(d, &outcome));
    CHECK(outcome == MESHROUTE_OUTCOME_ROUTE);
    OK(meshroute_decision_free(d));
}

static void test_source_and_explain(meshroute_mesh *mesh) {
    meshroute_header labels[] = {{s("app"), s("canary")}, {s("version"), s("v9")}};
    meshroute_request r = request("reviews.default.svc.cluster.local:9080", "/");
    r.source_namespace = s("test");
    r.source_labels = labels;
    r.source_label_count = 2;
    r.gateway = s("mesh");
    meshroute_decision *d = NULL;
    OK(meshroute_mesh_explain(mesh, &r, &d));
    meshroute_destination dest;
    OK(meshroute_decision_destination(d, 0, &dest));
    CHECK(str_eq(dest.subset, "v3"));
    size_t count = 0;
    OK(meshroute_decision_trace_count(d, &count));
    CHECK(count > 0);
    int saw_matched = 0;
    for (size_t i = 0; i < count; i++) {
        meshroute_trace_entry t;
        OK(meshroute_decision_trace_entry(d, i, &t));
        CHECK(t.stage.len > 0 && t.subject.ptr != NULL && t.detail.ptr != NULL);
        if (t.verdict == MESHROUTE_VERDICT_MATCHED) saw_matched = 1;
    }
    CHECK(saw_matched);
    meshroute_trace_entry t;
    STATUS(meshroute_decision_trace_entry(d, count, &t), MESHROUTE_STATUS_OUT_OF_RANGE);
    STATUS(meshroute_decision_trace_entry(d, 0, NULL), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_decision_trace_entry(NULL, 0, &t), MESHROUTE_STATUS_NULL_ARGUMENT);
    meshroute_str json;
    OK(meshroute_decision_json(d, &json));
    CHECK(str_contains(json, "\"trace\":["));
    OK(meshroute_decision_free(d));

    /* Same labels from another namespace: the sourceNamespace condition fails. */
    r.source_namespace = s("default");
    OK(meshroute_mesh_decide(mesh, &r, &d));
    OK(meshroute_decision_destination(d, 0, &dest));
    CHECK(str_eq(dest.subset, "v1"));
    OK(meshroute_decision_free(d));

    /* Through a gateway no VirtualService is bound to: no route. */
    r.gateway = s("istio-system/ingress");
    OK(meshroute_mesh_decide(mesh, &r, &d));
    meshroute_outcome outcome;
    OK(meshroute_decision_outcome(d, &outcome));
    CHECK(outcome == MESHROUTE_OUTCOME_NOT_FOUND);
    STATUS(meshroute_decision_virtual_service(d, &json), MESHROUTE_STATUS_ABSENT);
    STATUS(meshroute_decision_rule_index(d, &count), MESHROUTE_STATUS_ABSENT);
    OK(meshroute_decision_free(d));
}

static void test_decide_json(meshroute_mesh *mesh) {
    const char *req = "{\"host\":\"reviews:9080\",\"headers\":{\"end-user\":\"jason\"}}";
    meshroute_decision *d = NULL;
    OK(meshroute_mesh_decide_json(mesh, req, strlen(req), &d));
    meshroute_str text;
    OK(meshroute_decision_rule_name(d, &text));
    CHECK(str_eq(text, "jason"));
    size_t count = 9;
    OK(meshroute_decision_trace_count(d, &count));
    CHECK(count == 0);
    OK(meshroute_decision_free(d));

    OK(meshroute_mesh_explain_json(mesh, req, strlen(req), &d));
    OK(meshroute_decision_trace_count(d, &count));
    CHECK(count > 0);
    OK(meshroute_decision_free(d));

    const char *bad = "{\"host\":\"reviews:9080\",\"hedaers\":{}}";
    d = (meshroute_decision *)1;
    STATUS(meshroute_mesh_decide_json(mesh, bad, strlen(bad), &d), MESHROUTE_STATUS_INVALID_REQUEST);
    CHECK(d == NULL && last_error_contains("hedaers"));
    STATUS(meshroute_mesh_explain_json(mesh, "{", 1, &d), MESHROUTE_STATUS_INVALID_REQUEST);
    STATUS(meshroute_mesh_decide_json(mesh, "{\"host\":\"\"}", 11, &d), MESHROUTE_STATUS_INVALID_REQUEST);
    CHECK(last_error_contains("host is empty"));
    STATUS(meshroute_mesh_decide_json(mesh, "\"\xff\"", 3, &d), MESHROUTE_STATUS_INVALID_UTF8);
    STATUS(meshroute_mesh_decide_json(mesh, NULL, 4, &d), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_mesh_decide_json(mesh, req, strlen(req), NULL), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_mesh_decide_json(NULL, req, strlen(req), &d), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_mesh_explain_json(NULL, req, strlen(req), &d), MESHROUTE_STATUS_NULL_ARGUMENT);
}

static void test_request_errors(meshroute_mesh *mesh) {
    meshroute_decision *d = (meshroute_decision *)1;
    meshroute_request r = request("reviews:9080", "/");
    STATUS(meshroute_mesh_decide(mesh, NULL, &d), MESHROUTE_STATUS_NULL_ARGUMENT);
    CHECK(d == NULL && last_error_contains("request is NULL"));
    STATUS(meshroute_mesh_decide(mesh, &r, NULL), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_mesh_decide(NULL, &r, &d), MESHROUTE_STATUS_NULL_ARGUMENT);
    CHECK(last_error_contains("mesh is NULL"));
    STATUS(meshroute_mesh_explain(NULL, &r, &d), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_mesh_explain(mesh, NULL, &d), MESHROUTE_STATUS_NULL_ARGUMENT);

    meshroute_request empty = request("", "/");
    STATUS(meshroute_mesh_decide(mesh, &empty, &d), MESHROUTE_STATUS_INVALID_REQUEST);
    CHECK(last_error_contains("authority is empty"));

    meshroute_request bad_utf8 = request("reviews:9080", "/\xc3(");
    STATUS(meshroute_mesh_decide(mesh, &bad_utf8, &d), MESHROUTE_STATUS_INVALID_UTF8);
    CHECK(last_error_contains("request.path is not valid UTF-8"));

    meshroute_header bad_header[] = {{s("x"), s("\xe2\x82")}};
    r.headers = bad_header;
    r.header_count = 1;
    STATUS(meshroute_mesh_decide(mesh, &r, &d), MESHROUTE_STATUS_INVALID_UTF8);
    CHECK(last_error_contains("request.headers[0].value"));

    r.headers = NULL;
    STATUS(meshroute_mesh_decide(mesh, &r, &d), MESHROUTE_STATUS_NULL_ARGUMENT);
    CHECK(last_error_contains("request.headers is NULL"));
    r.header_count = 100000;
    STATUS(meshroute_mesh_decide(mesh, &r, &d), MESHROUTE_STATUS_INVALID_REQUEST);
    CHECK(last_error_contains("MAX_REQUEST_HEADERS"));
    r.header_count = 0;

    meshroute_header bad_label[] = {{s("\xff"), s("x")}};
    r.source_labels = bad_label;
    r.source_label_count = 1;
    STATUS(meshroute_mesh_decide(mesh, &r, &d), MESHROUTE_STATUS_INVALID_UTF8);
    r.source_labels = NULL;
    STATUS(meshroute_mesh_decide(mesh, &r, &d), MESHROUTE_STATUS_NULL_ARGUMENT);
    r.source_label_count = 0;

    meshroute_str nul_ptr = {NULL, 3};
    r.method = nul_ptr;
    STATUS(meshroute_mesh_decide(mesh, &r, &d), MESHROUTE_STATUS_NULL_ARGUMENT);
    CHECK(last_error_contains("request.method is NULL"));
    r.method = s("");
    r.gateway = s("\xff");
    STATUS(meshroute_mesh_decide(mesh, &r, &d), MESHROUTE_STATUS_INVALID_UTF8);
    r.gateway = s("");
    r.source_namespace = s("\xff");
    STATUS(meshroute_mesh_decide(mesh, &r, &d), MESHROUTE_STATUS_INVALID_UTF8);
    r.source_namespace = s("");

    /* Over core's path limit: the request is refused, not truncated. */
    size_t big = 70 * 1024;
    char *path = malloc(big);
    CHECK(path != NULL);
    if (path != NULL) {
        memset(path, 'a', big);
        path[0] = '/';
        r.path.ptr = path;
        r.path.len = big;
        STATUS(meshroute_mesh_decide(mesh, &r, &d), MESHROUTE_STATUS_INVALID_REQUEST);
        CHECK(last_error_contains("MAX_REQUEST_PATH_BYTES"));
        free(path);
    }
}

static void test_accessor_null_and_handle_errors(meshroute_mesh *mesh) {
    meshroute_request r = request("reviews:9080", "/");
    meshroute_decision *d = NULL;
    OK(meshroute_mesh_decide(mesh, &r, &d));
    meshroute_outcome outcome;
    meshroute_str text;
    size_t n;
    meshroute_destination dest;
    STATUS(meshroute_decision_outcome(NULL, &outcome), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_decision_outcome(d, NULL), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_decision_outcome_name(NULL, &text), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_decision_outcome_name(d, NULL), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_decision_virtual_service(NULL, &text), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_decision_virtual_service(d, NULL), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_decision_rule_index(NULL, &n), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_decision_rule_index(d, NULL), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_decision_rule_name(NULL, &text), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_decision_rule_name(d, NULL), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_decision_destination_count(NULL, &n), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_decision_destination_count(d, NULL), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_decision_destination(NULL, 0, &dest), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_decision_destination(d, 0, NULL), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_decision_timeout(NULL, &text), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_decision_timeout(d, NULL), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_decision_json(NULL, &text), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_decision_json(d, NULL), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_decision_trace_count(NULL, &n), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_decision_trace_count(d, NULL), MESHROUTE_STATUS_NULL_ARGUMENT);

    /* A handle of the wrong type is recognised by its tag. */
    STATUS(meshroute_mesh_message_count((const meshroute_mesh *)d, &n), MESHROUTE_STATUS_INVALID_HANDLE);
    CHECK(last_error_contains("not a live mesh"));
    STATUS(meshroute_decision_outcome((const meshroute_decision *)mesh, &outcome), MESHROUTE_STATUS_INVALID_HANDLE);
    meshroute_decision *other = (meshroute_decision *)1;
    STATUS(meshroute_mesh_decide((const meshroute_mesh *)d, &r, &other), MESHROUTE_STATUS_INVALID_HANDLE);
    CHECK(other == NULL);
    /* Freeing with the wrong function is refused and leaves both alive. */
    STATUS(meshroute_mesh_free((meshroute_mesh *)d), MESHROUTE_STATUS_INVALID_HANDLE);
    STATUS(meshroute_decision_free((meshroute_decision *)mesh), MESHROUTE_STATUS_INVALID_HANDLE);
    OK(meshroute_decision_outcome(d, &outcome));
    /* A double free is detected without touching freed memory. */
    OK(meshroute_decision_free(d));
    STATUS(meshroute_decision_free(d), MESHROUTE_STATUS_INVALID_HANDLE);
    CHECK(last_error_contains("already freed"));
    OK(meshroute_decision_free(NULL));
}

static void test_mesh_double_free(void) {
    meshroute_mesh *mesh = load("");
    OK(meshroute_mesh_free(mesh));
    STATUS(meshroute_mesh_free(mesh), MESHROUTE_STATUS_INVALID_HANDLE);
    CHECK(last_error_contains("meshroute_mesh_free"));
}

static void test_decision_outlives_mesh(const char *config) {
    meshroute_mesh *mesh = load(config);
    meshroute_request r = request("reviews:9080", "/teapot");
    meshroute_decision *d = NULL;
    OK(meshroute_mesh_decide(mesh, &r, &d));
    OK(meshroute_mesh_free(mesh));
    uint16_t status = 0;
    meshroute_str body;
    OK(meshroute_decision_direct_response(d, &status, &body));
    CHECK(status == 418 && str_eq(body, "short and stout"));
    OK(meshroute_decision_free(d));
}

static void test_decide_into_reuses_a_handle(const char *config) {
    meshroute_mesh *mesh = load(config);
    meshroute_header jason[] = {{s("end-user"), s("jason")}};
    meshroute_request r = request("reviews:9080", "/reviews/0");
    r.headers = jason;
    r.header_count = 1;
    meshroute_decision *d = NULL;
    size_t rule = 99;
    /* NULL handle: a new decision, as meshroute_mesh_decide. */
    OK(meshroute_mesh_decide_into(mesh, &r, &d));
    CHECK(d != NULL);
    meshroute_decision *first = d;
    OK(meshroute_decision_rule_index(d, &rule));
    CHECK(rule == 0);
    meshroute_str json;
    OK(meshroute_decision_json(d, &json));
    CHECK(str_contains(json, "\"subset\":\"v2\""));
    /* Reused: same handle, new contents (and a fresh JSON). */
    r.header_count = 0;
    OK(meshroute_mesh_decide_into(mesh, &r, &d));
    CHECK(d == first);
    OK(meshroute_decision_rule_index(d, &rule));
    CHECK(rule == 4);
    OK(meshroute_decision_json(d, &json));
    CHECK(str_contains(json, "\"index\":4"));
    /* The handle's request buffers are refilled field by field: labels and
       namespace set, then unset, leave nothing behind. */
    meshroute_header canary[] = {{s("app"), s("canary")}};
    meshroute_request c = request("reviews.default.svc.cluster.local:9080", "/");
    c.source_namespace = s("test");
    c.source_labels = canary;
    c.source_label_count = 1;
    meshroute_destination to;
    OK(meshroute_mesh_decide_into(mesh, &c, &d));
    OK(meshroute_decision_destination(d, 0, &to));
    CHECK(to.has_subset && str_eq(to.subset, "v3"));
    c.source_labels = NULL;
    c.source_label_count = 0;
    c.source_namespace = s("");
    OK(meshroute_mesh_decide_into(mesh, &c, &d));
    OK(meshroute_decision_destination(d, 0, &to));
    CHECK(to.has_subset && str_eq(to.subset, "v1"));
    OK(meshroute_mesh_decide_into(mesh, &r, &d));
    /* A refused request leaves the old decision as it was. */
    meshroute_request bad = request("", "/");
    STATUS(meshroute_mesh_decide_into(mesh, &bad, &d), MESHROUTE_STATUS_INVALID_REQUEST);
    CHECK(d == first);
    OK(meshroute_decision_rule_index(d, &rule));
    CHECK(rule == 4);
    /* Reused with another mesh: the decision keeps that mesh alive. */
    meshroute_mesh *other = load(config);
    r.header_count = 1;
    OK(meshroute_mesh_decide_into(other, &r, &d));
    OK(meshroute_mesh_free(other));
    OK(meshroute_mesh_free(mesh));
    meshroute_destination dest;
    OK(meshroute_decision_destination(d, 0, &dest));
    CHECK(str_eq(dest.cluster, "outbound|9080|v2|reviews.default.svc.cluster.local"));
    /* Errors: NULL arguments, a handle of another type. */
    STATUS(meshroute_mesh_decide_into(NULL, &r, &d), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_mesh_decide_into(NULL, &r, NULL), MESHROUTE_STATUS_NULL_ARGUMENT);
    CHECK(last_error_contains("decision is NULL"));
    meshroute_mesh *third = load(config);
    STATUS(meshroute_mesh_decide_into(third, NULL, &d), MESHROUTE_STATUS_NULL_ARGUMENT);
    meshroute_decision *not_a_decision = (meshroute_decision *)third;
    STATUS(meshroute_mesh_decide_into(third, &r, &not_a_decision), MESHROUTE_STATUS_INVALID_HANDLE);
    OK(meshroute_mesh_free(third));
    OK(meshroute_decision_free(d));
}

struct worker {
    const meshroute_mesh *mesh;
    int id;
    int wrong;
};

static void *decide_many(void *arg) {
    struct worker *w = arg;
    meshroute_header jason[] = {{s("end-user"), s("jason")}};
    for (int i = 0; i < 200; i++) {
        int want_jason = (i + w->id) % 2 == 0;
        meshroute_request r = request("reviews:9080", "/");
        r.headers = jason;
        r.header_count = want_jason ? 1 : 0;
        meshroute_decision *d = NULL;
        size_t rule = 99;
        if (meshroute_mesh_decide(w->mesh, &r, &d) != MESHROUTE_STATUS_OK ||
            meshroute_decision_rule_index(d, &rule) != MESHROUTE_STATUS_OK ||
            rule != (want_jason ? 0u : 4u))
            w->wrong++;
        if (meshroute_decision_free(d) != MESHROUTE_STATUS_OK) w->wrong++;
        /* The last error is per thread: another thread's failures never show here. */
        if (meshroute_mesh_decide(w->mesh, NULL, &d) != MESHROUTE_STATUS_NULL_ARGUMENT ||
            !last_error_contains("request is NULL"))
            w->wrong++;
    }
    return NULL;
}

static void test_threads_share_a_mesh(meshroute_mesh *mesh) {
    enum { THREADS = 4 };
    pthread_t threads[THREADS];
    struct worker workers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i].mesh = mesh;
        workers[i].id = i;
        workers[i].wrong = 0;
        CHECK(pthread_create(&threads[i], NULL, decide_many, &workers[i]) == 0);
    }
    for (int i = 0; i < THREADS; i++) {
        CHECK(pthread_join(threads[i], NULL) == 0);
        CHECK(workers[i].wrong == 0);
    }
}

static void test_outlier_detector(void) {
    meshroute_outlier_config cfg = {-1, -1, false, -1, 0, 0, 0, 0};
    cfg.consecutive_5xx_errors = 2;
    cfg.interval_ns = 10000000000ull;          /* 10 s */
    cfg.base_ejection_time_ns = 30000000000ull; /* 30 s */
    cfg.max_ejection_percent = 100;
    meshroute_outlier_detector *det = NULL;
    OK(meshroute_outlier_detector_new(&cfg, 2, 0, &det));
    bool ejected = true;
    OK(meshroute_outlier_detector_report_status(det, 0, 503, 1000, 7, &ejected));
    CHECK(!ejected); /* one 5xx is not two */
    OK(meshroute_outlier_detector_report_status(det, 1, 200, 1000, 7, NULL));
    OK(meshroute_outlier_detector_report_status(det, 0, 503, 2000, 7, &ejected));
    CHECK(ejected);
    OK(meshroute_outlier_detector_is_ejected(det, 1, &ejected));
    CHECK(!ejected);
    /* Un-ejected at the first interval tick after the base ejection time. */
    OK(meshroute_outlier_detector_advance(det, 20000000000ull));
    OK(meshroute_outlier_detector_is_ejected(det, 0, &ejected));
    CHECK(ejected);
    OK(meshroute_outlier_detector_advance(det, 45000000000ull));
    OK(meshroute_outlier_detector_is_ejected(det, 0, &ejected));
    CHECK(!ejected);
    STATUS(meshroute_outlier_detector_is_ejected(det, 2, &ejected), MESHROUTE_STATUS_OUT_OF_RANGE);
    STATUS(meshroute_outlier_detector_report_status(det, 2, 503, 45000000000ull, 0, &ejected),
           MESHROUTE_STATUS_OUT_OF_RANGE);
    STATUS(meshroute_outlier_detector_is_ejected(det, 0, NULL), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_outlier_detector_is_ejected(NULL, 0, &ejected), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_outlier_detector_report_status(NULL, 0, 503, 0, 0, NULL), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_outlier_detector_advance(NULL, 0), MESHROUTE_STATUS_NULL_ARGUMENT);
    OK(meshroute_outlier_detector_free(det));
    STATUS(meshroute_outlier_detector_new(NULL, 2, 0, &det), MESHROUTE_STATUS_NULL_ARGUMENT);
    CHECK(det == NULL);
    OK(meshroute_outlier_detector_new(&cfg, 1, 0, &det));
    STATUS(meshroute_outlier_detector_new(&cfg, 1, 0, NULL), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_pool_free((meshroute_pool *)det), MESHROUTE_STATUS_INVALID_HANDLE);
    OK(meshroute_outlier_detector_free(det));
    STATUS(meshroute_outlier_detector_free(det), MESHROUTE_STATUS_INVALID_HANDLE);
    OK(meshroute_outlier_detector_free(NULL));
}

static void test_pool(void) {
    meshroute_pool_config cfg = {1, 1, 0, 0, 0, 0, false};
    meshroute_pool *pool = NULL;
    OK(meshroute_pool_new(&cfg, 1, &pool));
    meshroute_admission a;
    uint64_t first = 0, second = 0, third = 0;
    OK(meshroute_pool_acquire(pool, 0, &a, &first));
    CHECK(a == MESHROUTE_ADMISSION_ACTIVE);
    OK(meshroute_pool_acquire(pool, 0, &a, &second));
    CHECK(a == MESHROUTE_ADMISSION_PENDING);
    OK(meshroute_pool_acquire(pool, 0, &a, &third));
    CHECK(a == MESHROUTE_ADMISSION_OVERFLOW);
    OK(meshroute_pool_release(pool, first));
    STATUS(meshroute_pool_release(pool, first), MESHROUTE_STATUS_INVALID_ARGUMENT);
    CHECK(last_error_contains("unknown or finished request"));
    /* The pending request took the freed connection: a new one must wait. */
    OK(meshroute_pool_acquire(pool, 0, &a, &third));
    CHECK(a == MESHROUTE_ADMISSION_PENDING);
    OK(meshroute_pool_release(pool, third));
    OK(meshroute_pool_release(pool, second));
    STATUS(meshroute_pool_acquire(pool, 1, &a, &third), MESHROUTE_STATUS_OUT_OF_RANGE);
    STATUS(meshroute_pool_acquire(pool, 0, NULL, &third), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_pool_acquire(pool, 0, &a, NULL), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_pool_acquire(NULL, 0, &a, &third), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_pool_release(NULL, 1), MESHROUTE_STATUS_NULL_ARGUMENT);
    OK(meshroute_pool_free(pool));
    STATUS(meshroute_pool_new(NULL, 1, &pool), MESHROUTE_STATUS_NULL_ARGUMENT);
    CHECK(pool == NULL);
    OK(meshroute_pool_new(&cfg, 1, &pool));
    STATUS(meshroute_pool_new(&cfg, 1, NULL), MESHROUTE_STATUS_NULL_ARGUMENT);
    OK(meshroute_pool_free(pool));
    STATUS(meshroute_pool_free(pool), MESHROUTE_STATUS_INVALID_HANDLE);
    OK(meshroute_pool_free(NULL));
}

static void test_balancer(void) {
    meshroute_endpoint eps[] = {{{"10.0.0.1:80", 11}, 1}, {{"10.0.0.2:80", 11}, 1}};
    meshroute_balancer *b = NULL;
    OK(meshroute_balancer_new(eps, 2, MESHROUTE_LB_ROUND_ROBIN, 0, 42, &b));
    size_t h1 = 9, h2 = 9, h3 = 9;
    OK(meshroute_balancer_pick(b, 1, &h1));
    OK(meshroute_balancer_pick(b, 2, &h2));
    OK(meshroute_balancer_pick(b, 3, &h3));
    CHECK(h1 < 2 && h2 == 1 - h1 && h3 == h1); /* round robin alternates */
    OK(meshroute_balancer_set_unhealthy(b, 0, true));
    OK(meshroute_balancer_pick(b, 4, &h1));
    OK(meshroute_balancer_pick(b, 5, &h2));
    CHECK(h1 == 1 && h2 == 1);
    OK(meshroute_balancer_set_unhealthy(b, 1, true));
    STATUS(meshroute_balancer_pick(b, 6, &h1), MESHROUTE_STATUS_ABSENT); /* threshold 0: no panic mode */
    OK(meshroute_balancer_set_unhealthy(b, 1, false));
    OK(meshroute_balancer_pick(b, 7, &h1));
    CHECK(h1 == 1);
    STATUS(meshroute_balancer_set_unhealthy(b, 2, true), MESHROUTE_STATUS_OUT_OF_RANGE);
    STATUS(meshroute_balancer_set_unhealthy(NULL, 0, true), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_balancer_pick(b, 1, NULL), MESHROUTE_STATUS_NULL_ARGUMENT);
    STATUS(meshroute_balancer_pick(NULL, 1, &h1), MESHROUTE_STATUS_NULL_ARGUMENT);
    OK(meshroute_balancer_free(b));
    STATUS(meshroute_balancer_free(b), MESHROUTE_STATUS_INVALID_HANDLE);
    OK(meshroute_balancer_free(NULL));

    OK(meshroute_balancer_new(eps, 2, MESHROUTE_LB_LEAST_REQUEST, 50, 1, &b));
    OK(meshroute_balancer_pick(b, 9, &h1));
    CHECK(h1 < 2);
    OK(meshroute_balancer_free(b));
    OK(meshroute_balancer_new(eps, 2, MESHROUTE_LB_RANDOM, 50, 1, &b));
    OK(meshroute_balancer_pick(b, 9, &h1));
    CHECK(h1 < 2);
    OK(meshroute_balancer_free(b));
    STATUS(meshroute_balancer_new(eps, 2, 99, 50, 1, &b), MESHROUTE_STATUS_INVALID_ARGUMENT);
    CHECK(b == NULL);
    STATUS(meshroute_balancer_new(NULL, 2, MESHROUTE_LB_RANDOM, 50, 1, &b), MESHROUTE_STATUS_NULL_ARGUMENT);
    meshroute_endpoint bad[] = {{{"\xff", 1}, 1}};
    STATUS(meshroute_balancer_new(bad, 1, MESHROUTE_LB_RANDOM, 50, 1, &b), MESHROUTE_STATUS_INVALID_UTF8);
    STATUS(meshroute_balancer_new(eps, 2, MESHROUTE_LB_RANDOM, 50, 1, NULL), MESHROUTE_STATUS_NULL_ARGUMENT);
}

/* Istio's MeshConfig: REGISTRY_ONLY turns the passthrough of an unknown
 * host into istiod's 502, and its problems are messages of the mesh. */
static void test_mesh_config(const char *config) {
    const char *registry_only = "outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n";
    meshroute_request r = request("example.com", "/");
    meshroute_decision *d = NULL;
    meshroute_outcome outcome;

    meshroute_mesh *allow = NULL;
    OK(meshroute_mesh_new_with_mesh_config(config, strlen(config), "reviews.yaml", 12,
                                           NULL, 0, NULL, 0, &allow));
    OK(meshroute_mesh_decide(allow, &r, &d));
    OK(meshroute_decision_outcome(d, &outcome));
    CHECK(outcome == MESHROUTE_OUTCOME_PASSTHROUGH);
    OK(meshroute_decision_free(d));
    OK(meshroute_mesh_free(allow));

    meshroute_mesh *refuse = NULL;
    OK(meshroute_mesh_new_with_mesh_config(config, strlen(config), "reviews.yaml", 12,
                                           registry_only, strlen(registry_only), "mesh.yaml", 9,
                                           &refuse));
    OK(meshroute_mesh_decide(refuse, &r, &d));
    OK(meshroute_decision_outcome(d, &outcome));
    CHECK(outcome == MESHROUTE_OUTCOME_DIRECT_RESPONSE);
    uint16_t status = 0;
    meshroute_str body;
    OK(meshroute_decision_direct_response(d, &status, &body));
    CHECK(status == 502);
    OK(meshroute_decision_free(d));
    OK(meshroute_mesh_free(refuse));

    const char *typo = "outboundTrafficPolicy: {mode: REGISTRY_ONLYY}\n";
    meshroute_mesh *bad = NULL;
    OK(meshroute_mesh_new_with_mesh_config(config, strlen(config), "reviews.yaml", 12, typo,
                                           strlen(typo), "mesh.yaml", 9, &bad));
    bool errors = false;
    OK(meshroute_mesh_has_errors(bad, &errors));
    CHECK(errors);
    meshroute_message m;
    OK(meshroute_mesh_message(bad, 0, &m));
    CHECK(str_eq(m.file, "mesh.yaml") && m.line == 1 && str_contains(m.fix, "REGISTRY_ONLY"));
    OK(meshroute_mesh_free(bad));
    meshroute_mesh *none = NULL;
    STATUS(meshroute_mesh_new_with_mesh_config(config, strlen(config), "reviews.yaml", 12, NULL,
                                               3, NULL, 0, &none),
           MESHROUTE_STATUS_NULL_ARGUMENT);
    CHECK(none == NULL && last_error_contains("mesh_config is NULL"));
}

/* Limits raised (or lowered) by name, as `meshroute --limit NAME=VALUE`. */
static int has_message_containing(meshroute_mesh *mesh, const char *needle) {
    size_t count = 0;
    OK(meshroute_mesh_message_count(mesh, &count));
    for (size_t i = 0; i < count; i++) {
        meshroute_message m;
        OK(meshroute_mesh_message(mesh, i, &m));
        if (str_contains(m.text, needle)) return 1;
    }
    return 0;
}

static void test_limits(const char *config) {
    meshroute_limits *limits = NULL;
    OK(meshroute_limits_new(&limits));
    uint64_t value = 0;
    OK(meshroute_limits_get(limits, "max_input_bytes", 15, &value));
    CHECK(value == 64u * 1024 * 1024);
    OK(meshroute_limits_set(limits, "max_input_bytes", 15, "1GiB", 4));
    OK(meshroute_limits_get(limits, "max_input_bytes", 15, &value));
    CHECK(value == 1024u * 1024 * 1024);

    STATUS(meshroute_limits_set(limits, "max_documnets", 13, "5", 1),
           MESHROUTE_STATUS_INVALID_ARGUMENT);
    CHECK(last_error_contains("did you mean max_documents?"));
    STATUS(meshroute_limits_set(limits, "max_documents", 13, "five", 4),
           MESHROUTE_STATUS_INVALID_ARGUMENT);
    CHECK(last_error_contains("a whole number"));
    STATUS(meshroute_limits_set(limits, "max_regex_len", 13, "4096", 4),
           MESHROUTE_STATUS_INVALID_ARGUMENT);
    CHECK(last_error_contains("fixed"));
    STATUS(meshroute_limits_get(limits, "nope", 4, &value), MESHROUTE_STATUS_INVALID_ARGUMENT);

    /* A lowered document limit: the second document is refused, and the
       message says how to raise the limit. */
    OK(meshroute_limits_set(limits, "max_documents", 13, "1", 1));
    meshroute_mesh *mesh = NULL;
    OK(meshroute_mesh_new_with_limits(config, strlen(config), "reviews.yaml", 12, NULL, 0, NULL,
                                      0, limits, &mesh));
    bool errors = false;
    OK(meshroute_mesh_has_errors(mesh, &errors));
    CHECK(errors);
    CHECK(has_message_containing(mesh, "--limit max_documents=N"));
    OK(meshroute_mesh_free(mesh));

    /* A raised header limit: the mesh decides a request the default refuses. */
    OK(meshroute_limits_set(limits, "max_documents", 13, "100_000", 7));
    OK(meshroute_limits_set(limits, "max_request_headers", 19, "2_000", 5));
    OK(meshroute_mesh_new_with_limits(config, strlen(config), "reviews.yaml", 12, NULL, 0, NULL,
                                      0, limits, &mesh));
    meshroute_mesh *defaults = NULL;
    OK(meshroute_mesh_new_with_limits(config, strlen(config), "reviews.yaml", 12, NULL, 0, NULL,
                                      0, NULL, &defaults));
    OK(meshroute_limits_free(limits));
    STATUS(meshroute_limits_free(limits), MESHROUTE_STATUS_INVALID_HANDLE);
    OK(meshroute_mesh_has_errors(mesh, &errors));
    CHECK(!errors);

    enum { HEADERS = 1100 };
    meshroute_header *headers = calloc(HEADERS, sizeof *headers);
    CHECK(headers != NULL);
    if (headers == NULL) return;
    for (size_t i = 0; i < HEADERS; i++) {
        headers[i].name = s("x-many");
        headers[i].value = s("v");
    }
    meshroute_request r = request("reviews:9080", "/");
    r.headers = headers;
    r.header_count = HEADERS;
    meshroute_decision *d = NULL;
    OK(meshroute_mesh_decide(mesh, &r, &d));
    OK(meshroute_decision_free(d));
    d = NULL;
    OK(meshroute_mesh_decide_into(mesh, &r, &d));
    OK(meshroute_mesh_decide_into(mesh, &r, &d));
    OK(meshroute_decision_free(d));
    d = NULL;
    STATUS(meshroute_mesh_decide(defaults, &r, &d), MESHROUTE_STATUS_INVALID_REQUEST);
    CHECK(d == NULL && last_error_contains("--limit max_request_headers=N"));
    free(headers);
    OK(meshroute_mesh_free(mesh));
    OK(meshroute_mesh_free(defaults));
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_capi reviews.yaml\n");
        return 2;
    }
    size_t len = 0;
    char *config = read_file(argv[1], &len);
    if (config == NULL) {
        perror(argv[1]);
        return 2;
    }
    config[len] = '\0';

    test_version_and_status();
    test_panic_barrier();
    test_load_errors();
    test_messages();
    test_limits_message();
    test_not_modelled_is_info();
    meshroute_mesh *mesh = load(config);
    size_t count = 9;
    OK(meshroute_mesh_message_count(mesh, &count));
    CHECK(count == 0);
    test_route_with_header(mesh);
    test_weighted_and_pick(mesh);
    test_redirect_and_direct_response(mesh);
    test_source_and_explain(mesh);
    test_decide_json(mesh);
    test_request_errors(mesh);
    test_accessor_null_and_handle_errors(mesh);
    test_threads_share_a_mesh(mesh);
    OK(meshroute_mesh_free(mesh));
    test_mesh_double_free();
    test_decision_outlives_mesh(config);
    test_decide_into_reuses_a_handle(config);
    test_mesh_config(config);
    test_limits(config);
    test_outlier_detector();
    test_pool();
    test_balancer();
    free(config);

    printf("capi: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
