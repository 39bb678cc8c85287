/*
 * route: decide one request against a configuration file and print the
 * decision.
 *
 *   route CONFIG.yaml AUTHORITY [PATH] [-m METHOD] [-H name:value]...
 *         [-n SOURCE_NAMESPACE] [-l key=value]... [-g GATEWAY] [-x]
 *
 * -x explains (prints the trace). Exit status: 0 decided, 1 usage or I/O
 * error, 2 meshroute refused the input.
 */
#include <meshroute.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PAIRS 64

static meshroute_str str_of(const char *s) {
    meshroute_str out = {s, s ? strlen(s) : 0};
    return out;
}

/* Splits "name<sep>value" into a pair borrowing from arg. */
static int pair_of(const char *arg, char sep, meshroute_header *out) {
    const char *at = strchr(arg, sep);
    if (at == NULL) return -1;
    out->name.ptr = arg;
    out->name.len = (size_t)(at - arg);
    out->value = str_of(at + 1);
    return 0;
}

static int fail(const char *what, meshroute_status status) {
    meshroute_str name = meshroute_status_name((uint32_t)status);
    meshroute_str msg = meshroute_last_error();
    fprintf(stderr, "route: %s: %.*s: %.*s\n", what, (int)name.len, name.ptr, (int)msg.len, msg.ptr);
    return 2;
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        char *bigger = realloc(buf, cap * 2);
        if (bigger == NULL) { free(buf); buf = NULL; break; }
        buf = bigger;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) { free(buf); return NULL; }
    *len = n;
    return buf;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: route CONFIG.yaml AUTHORITY [PATH] [-m METHOD] [-H name:value]... "
                        "[-n NAMESPACE] [-l key=value]... [-g GATEWAY] [-x]\n");
        return 1;
    }
    meshroute_header headers[MAX_PAIRS], labels[MAX_PAIRS];
    meshroute_request req;
    memset(&req, 0, sizeof req);
    req.authority = str_of(argv[2]);
    req.headers = headers;
    req.source_labels = labels;
    int explain = 0;
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (strcmp(a, "-x") == 0) explain = 1;
        else if (strcmp(a, "-m") == 0 && has_value) req.method = str_of(argv[++i]);
        else if (strcmp(a, "-n") == 0 && has_value) req.source_namespace = str_of(argv[++i]);
        else if (strcmp(a, "-g") == 0 && has_value) req.gateway = str_of(argv[++i]);
        else if (strcmp(a, "-H") == 0 && has_value && req.header_count < MAX_PAIRS) {
            if (pair_of(argv[++i], ':', &headers[req.header_count++]) != 0) {
                fprintf(stderr, "route: -H wants name:value\n");
                return 1;
            }
        } else if (strcmp(a, "-l") == 0 && has_value && req.source_label_count < MAX_PAIRS) {
            if (pair_of(argv[++i], '=', &labels[req.source_label_count++]) != 0) {
                fprintf(stderr, "route: -l wants key=value\n");
                return 1;
            }
        } else if (a[0] != '-' && req.path.len == 0) req.path = str_of(a);
        else {
            fprintf(stderr, "route: unexpected argument %s\n", a);
            return 1;
        }
    }

    size_t text_len = 0;
    char *text = read_file(argv[1], &text_len);
    if (text == NULL) {
        perror(argv[1]);
        return 1;
    }
    meshroute_mesh *mesh = NULL;
    meshroute_status st = meshroute_mesh_new(text, text_len, argv[1], strlen(argv[1]), &mesh);
    free(text);
    if (st != MESHROUTE_STATUS_OK) return fail("loading", st);

    size_t count = 0;
    meshroute_mesh_message_count(mesh, &count);
    for (size_t i = 0; i < count; i++) {
        meshroute_message m;
        if (meshroute_mesh_message(mesh, i, &m) != MESHROUTE_STATUS_OK) continue;
        fprintf(stderr, "%.*s:%u:%u: [%.*s] %.*s\n", (int)m.file.len, m.file.ptr, m.line, m.column,
                (int)m.code.len, m.code.ptr, (int)m.text.len, m.text.ptr);
    }

    meshroute_decision *d = NULL;
    st = explain ? meshroute_mesh_explain(mesh, &req, &d) : meshroute_mesh_decide(mesh, &req, &d);
    meshroute_mesh_free(mesh);
    if (st != MESHROUTE_STATUS_OK) return fail("deciding", st);

    meshroute_str outcome, vs, timeout;
    meshroute_decision_outcome_name(d, &outcome);
    printf("outcome: %.*s\n", (int)outcome.len, outcome.ptr);
    if (meshroute_decision_virtual_service(d, &vs) == MESHROUTE_STATUS_OK)
        printf("virtualService: %.*s\n", (int)vs.len, vs.ptr);
    size_t rule;
    if (meshroute_decision_rule_index(d, &rule) == MESHROUTE_STATUS_OK) printf("rule: %zu\n", rule);
    size_t n = 0;
    meshroute_decision_destination_count(d, &n);
    for (size_t i = 0; i < n; i++) {
        meshroute_destination dest;
        meshroute_decision_destination(d, i, &dest);
        printf("destination: %.*s", (int)dest.host.len, dest.host.ptr);
        if (dest.has_subset) printf(" subset=%.*s", (int)dest.subset.len, dest.subset.ptr);
        if (dest.has_port) printf(" port=%u", dest.port);
        printf(" weight=%u\n", dest.weight);
    }
    uint16_t status;
    meshroute_str text_out;
    if (meshroute_decision_redirect(d, &status, &text_out) == MESHROUTE_STATUS_OK)
        printf("redirect: %u %.*s\n", status, (int)text_out.len, text_out.ptr);
    if (meshroute_decision_direct_response(d, &status, &text_out) == MESHROUTE_STATUS_OK)
        printf("directResponse: %u %.*s\n", status, (int)text_out.len, text_out.ptr);
    if (meshroute_decision_timeout(d, &timeout) == MESHROUTE_STATUS_OK)
        printf("timeout: %.*s\n", (int)timeout.len, timeout.ptr);
    size_t steps = 0;
    meshroute_decision_trace_count(d, &steps);
    for (size_t i = 0; i < steps; i++) {
        meshroute_trace_entry t;
        meshroute_decision_trace_entry(d, i, &t);
        printf("  %.*s %.*s: %.*s\n", (int)t.stage.len, t.stage.ptr, (int)t.subject.len, t.subject.ptr,
               (int)t.detail.len, t.detail.ptr);
    }
    meshroute_str json;
    meshroute_decision_json(d, &json);
    printf("json: %.*s\n", (int)json.len, json.ptr);
    meshroute_decision_free(d);
    return 0;
}
