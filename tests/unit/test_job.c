/* duet — unit tests for job scripts (cli/job.c, cli/job_text.c, cli/jsonpos.c): every sample
 * in samples/ loads with the values it spells out; a table of broken scripts each fails with
 * exactly the expected messages ("file:line:col: path: message", captured from duet_log);
 * the JSON position walker, the prompt-tag checker and the edit distance on their own; and
 * allocation failures at every point of a load. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/job.h"
#include "cli/jsonpos.h"
#include "core/alloc.h"
#include "harness.h"

#if !defined(DUET_SAMPLES_DIR) || !defined(DUET_DOCS_DIR)
#error "DUET_SAMPLES_DIR and DUET_DOCS_DIR must be defined by the build"
#endif

/* ---- captured log ---- */

enum { MAX_LOG = 48 };
static char g_log[MAX_LOG][1024];
static int g_n_log;

static void capture(duet_log_level level, const char *msg, void *user_data) {
    (void)level;
    (void)user_data;
    if (g_n_log < MAX_LOG) snprintf(g_log[g_n_log], sizeof g_log[0], "%s", msg);
    g_n_log++;
}

static void log_reset(void) { g_n_log = 0; }

static void log_dump(void) {
    for (int i = 0; i < g_n_log && i < MAX_LOG; i++) fprintf(stderr, "    got: %s\n", g_log[i]);
}

/* ---- the position walker ---- */

static void check_pos(const char *text, const duet_jsonpos_seg *segs, int n, int kl, int kc,
                      int vl, int vc) {
    duet_jsonpos k = {0, 0, 0}, v = {0, 0, 0};
    bool found = duet_jsonpos_find(text, strlen(text), segs, n, &k, &v);
    T_CHECK(found);
    if (!found || k.line != kl || k.col != kc || v.line != vl || v.col != vc) {
        fprintf(stderr, "    path of %d steps: key %d:%d value %d:%d, want key %d:%d value %d:%d\n",
                n, k.line, k.col, v.line, v.col, kl, kc, vl, vc);
        duet_test_failures += found ? 1 : 0;
    }
}

static void test_jsonpos(void) {
    /* columns count code points: "é" and "ü" are one column each */
    const char *t = "{\n"
                    "  \"a\": [1, {\"b\": \"x\"}, [2, 3]],\n"
                    "  \"k\\u00e9y\": {\"q\\\"t\": null},\n"
                    "  \"ü\": \"ö\", \"n\": -1.5e3\n"
                    "}";
    check_pos(t, NULL, 0, 1, 1, 1, 1);
    check_pos(t, (duet_jsonpos_seg[]){{"a", 0}}, 1, 2, 3, 2, 8);
    check_pos(t, (duet_jsonpos_seg[]){{"a", 0}, {NULL, 1}}, 2, 2, 12, 2, 12);
    check_pos(t, (duet_jsonpos_seg[]){{"a", 0}, {NULL, 1}, {"b", 0}}, 3, 2, 13, 2, 18);
    check_pos(t, (duet_jsonpos_seg[]){{"a", 0}, {NULL, 2}, {NULL, 1}}, 3, 2, 28, 2, 28);
    check_pos(t, (duet_jsonpos_seg[]){{"k\xc3\xa9y", 0}}, 1, 3, 3, 3, 15);
    check_pos(t, (duet_jsonpos_seg[]){{"k\xc3\xa9y", 0}, {"q\"t", 0}}, 2, 3, 16, 3, 24);
    check_pos(t, (duet_jsonpos_seg[]){{"\xc3\xbc", 0}}, 1, 4, 3, 4, 8);
    check_pos(t, (duet_jsonpos_seg[]){{"n", 0}}, 1, 4, 13, 4, 18);
    size_t len = strlen(t);
    T_CHECK(!duet_jsonpos_find(t, len, (duet_jsonpos_seg[]){{"zz", 0}}, 1, NULL, NULL));
    T_CHECK(!duet_jsonpos_find(t, len, (duet_jsonpos_seg[]){{"a", 0}, {NULL, 3}}, 2, NULL, NULL));
    T_CHECK(!duet_jsonpos_find(t, len, (duet_jsonpos_seg[]){{NULL, 0}}, 1, NULL, NULL));
    T_CHECK(!duet_jsonpos_find(t, len, (duet_jsonpos_seg[]){{"n", 0}, {"x", 0}}, 2, NULL, NULL));

    /* decoded index -> source: in "a\tb\u00e9<", '<' is decoded byte 5 and source byte 11 */
    const char *s = "\"a\\tb\\u00e9<\"";
    T_CHECK(duet_jsonpos_string_offset(s, strlen(s), 0, 0) == 1);
    T_CHECK(duet_jsonpos_string_offset(s, strlen(s), 0, 1) == 2);
    T_CHECK(duet_jsonpos_string_offset(s, strlen(s), 0, 3) == 5);
    T_CHECK(duet_jsonpos_string_offset(s, strlen(s), 0, 4) == 5); /* inside the é escape */
    T_CHECK(duet_jsonpos_string_offset(s, strlen(s), 0, 5) == 11);
    T_CHECK(duet_jsonpos_string_offset(s, strlen(s), 0, 99) == 12); /* closing quote */
    /* a surrogate pair is one escape of 12 source bytes, 4 decoded bytes */
    const char *pair = "\"\\ud83d\\ude00x\"";
    T_CHECK(duet_jsonpos_string_offset(pair, strlen(pair), 0, 4) == 13);

    /* every prefix of the text: no read past the end, and no false hit */
    for (size_t n = 0; n < len; n++) {
        duet_jsonpos v;
        bool hit = duet_jsonpos_find(t, n, (duet_jsonpos_seg[]){{"n", 0}}, 1, NULL, &v);
        T_CHECK(!hit || v.offset < n);
        (void)duet_jsonpos_find(t, n, (duet_jsonpos_seg[]){{"a", 0}, {NULL, 2}, {NULL, 1}}, 3,
                                NULL, &v);
        (void)duet_jsonpos_string_offset(t, n, 9, 3);
    }
}

/* ---- prompt tags and suggestions ---- */

static void check_tags(const char *prompt, int want_n, size_t want_offset, const char *want_msg) {
    duet_job_tag_issue is[4];
    int n = duet_job_check_tags(prompt, is, 4);
    bool ok = n == want_n;
    if (ok && n > 0) ok = is[0].offset == want_offset && !strcmp(is[0].msg, want_msg);
    T_CHECK(ok);
    if (!ok)
        fprintf(stderr,
                "    prompt \"%s\": %d issue(s), first at %zu \"%s\"; want %d at %zu \"%s\"\n", prompt, n, n > 0 ? is[0].offset : 0, n > 0 ? is[0].msg : "", want_n, want_offset,
                want_msg ? want_msg : "");
}

static void test_tags(void) {
    check_tags("a red round head. <S>ba di mo<E> <AUDCAP>waves<ENDAUDCAP>", 0, 0, NULL);
    check_tags("no tags at all, a < b > c, <3", 0, 0, NULL);
    check_tags("<S>ba di", 1, 0, "<S> is never closed (expected <E>)");
    check_tags("x <AUDCAP>rain", 1, 2, "<AUDCAP> is never closed (expected <ENDAUDCAP>)");
    check_tags("ba<E>", 1, 2, "<E> without an open <S>");
    check_tags("<ENDAUDCAP>", 1, 0, "<ENDAUDCAP> without an open <AUDCAP>");
    check_tags("<S>ba <AUDCAP>x<ENDAUDCAP>", 1, 6,
               "<AUDCAP> inside <S>: close <S> with <E> first");
    check_tags("<S>ba<ENDAUDCAP>", 1, 5,
               "<ENDAUDCAP> closes <AUDCAP>, but the open tag is <S> (close it with <E>)");
    check_tags("<S>a<S>b<E>", 1, 4, "<S> inside <S>: close <S> with <E> first");
    check_tags("<S> <E>", 1, 0, "empty <S> span");
    check_tags("<s>ba<E>", 2, 0, "unknown tag <s>; did you mean <S>?");
    check_tags("<AUDCAPS>x<ENDAUDCAP>", 2, 0, "unknown tag <AUDCAPS>; did you mean <AUDCAP>?");
    check_tags("<voice>x", 1, 0, "unknown tag <voice> (tags: <S> <E> <AUDCAP> <ENDAUDCAP>)");
    check_tags("<S>x</S>", 2, 4, "unknown tag </S>; did you mean <S>?");
    check_tags("<AUDCAP x", 1, 0, "tag <AUDCAP is missing its '>'");
    /* more issues than room: the count is still exact */
    duet_job_tag_issue one[1];
    T_CHECK(duet_job_check_tags("<E><E><E>", one, 1) == 3 && one[0].offset == 0);
}

static void test_suggest(void) {
    T_CHECK(duet_job_edit_distance("prompt", "prompt", 3) == 0);
    T_CHECK(duet_job_edit_distance("promt", "prompt", 3) == 1);
    T_CHECK(duet_job_edit_distance("prmopt", "prompt", 3) == 1); /* transposition */
    T_CHECK(duet_job_edit_distance("Prompt", "prompt", 3) == 0);
    T_CHECK(duet_job_edit_distance("duraton_s", "duration_s", 3) == 1);
    T_CHECK(duet_job_edit_distance("kitten", "sitting", 5) == 3);
    T_CHECK(duet_job_edit_distance("abcdefgh", "zzzzzzzz", 2) == 3); /* capped */
    T_CHECK(duet_job_edit_distance("", "abc", 5) == 3);
    static const char *const words[] = {"cut", "crossfade"};
    T_CHECK(duet_job_suggest("crosfade", words, 2) == words[1]);
    T_CHECK(duet_job_suggest("cuts", words, 2) == words[0]);
    T_CHECK(duet_job_suggest("wipe", words, 2) == NULL);
}

/* ---- broken scripts: exact messages, in source order ---- */

#define SHOT "{\"prompt\": \"a red round head\", \"duration_s\": 1}"

typedef struct {
    const char *name;
    const char *text;
    const char *want[8]; /* every message, without the "bad.json:" prefix */
} bad_case;

static const bad_case bad_cases[] = {
    {"syntax: trailing comma",
     "{\n"
     "  \"shots\": [\n"
     "    {\"prompt\": \"a\", \"duration_s\": 1,}\n"
     "  ]\n"
     "}\n",
     {"3:37: syntax error: string or '}' expected near '}'"}},
    {"syntax: end of input", "{\"shots\": [", {"1:11: syntax error: ']' expected near end of file"}},
    {"syntax: empty", "", {"1:1: syntax error: '[' or '{' expected near end of file"}},
    {"syntax: duplicate key", "{\"seed\": 1, \"seed\": 2, \"shots\": [" SHOT "]}",
     {"1:18: syntax error: duplicate object key near '\"seed\"'"}},
    {"root is not an object", "[1, 2]",
     {"1:1: (top level): a job script is a JSON object { ... }, got an array"}},
    {"unknown fields",
     "{\"sed\": 1, \"shots\": [{\"prompt\": \"a\", \"duraton_s\": 1, \"width\": 128}], "
     "\"prompt\": \"x\"}",
     {"1:2: sed: unknown field; did you mean \"seed\"?",
      "1:38: shots[0].duraton_s: unknown field; did you mean \"duration_s\"?",
      "1:54: shots[0].width: unknown field; this is a job field: put it at the top level",
      "1:70: prompt: unknown field; this is a shot field: put it in a shot inside \"shots\""}},
    {"missing required fields",
     "{\n"
     "  \"shots\": [\n"
     "    {\"seed\": 3},\n"
     "    \"just a prompt\"\n"
     "  ]\n"
     "}\n",
     {"3:5: shots[0]: missing required field \"prompt\"",
      "3:5: shots[0]: missing required field \"duration_s\"",
      "4:5: shots[1]: a shot is an object {\"prompt\": ..., \"duration_s\": ...}, got a string"}},
    {"missing shots", "{\"model\": \"duet-tiny\"}",
     {"1:1: (top level): missing required field \"shots\""}},
    {"misspelt shots", "{\"shot\": []}", {"1:2: shot: unknown field; did you mean \"shots\"?"}},
    {"empty shots", "{\"shots\": []}", {"1:11: shots: must hold at least one shot"}},
    {"shots not an array", "{\"shots\": {\"prompt\": \"a\"}}",
     {"1:11: shots: must be an array of shots [ {...}, ... ], got an object"}},
    {"wrong types",
     "{\n"
     "  \"width\": \"128\",\n"
     "  \"steps\": 2.5,\n"
     "  \"seed\": -1,\n"
     "  \"guidance\": \"high\",\n"
     "  \"shots\": [{\"prompt\": 5, \"duration_s\": \"2s\", \"continue\": \"yes\", \"image\": null}]\n"
     "}\n",
     {"2:12: width: must be a whole number, got a string",
      "3:12: steps: must be a whole number, got 2.5", "4:11: seed: must be >= 0, got -1",
      "5:15: guidance: must be a number or {\"video\": n, \"audio\": n}, got a string",
      "6:24: shots[0].prompt: must be a string, got a number",
      "6:41: shots[0].duration_s: must be a number, got a string",
      "6:59: shots[0].continue: must be true or false, got a string",
      "6:75: shots[0].image: must be a string, got null"}},
    {"comment must be text", "{\"comment\": 1, \"shots\": [" SHOT "]}",
     {"1:13: comment: must be a string, got a number"}},
    {"durations",
     "{\"shots\": [\n"
     "  {\"prompt\": \"a\", \"duration_s\": 0},\n"
     "  {\"prompt\": \"a\", \"duration_s\": -1.5},\n"
     "  {\"prompt\": \"a\", \"duration_s\": 4.5},\n"
     "  {\"prompt\": \"a\", \"duration_s\": 0.01},\n"
     "  {\"prompt\": \"a\", \"duration_s\": 1.03}\n"
     "]}\n",
     {"2:33: shots[0].duration_s: must be > 0, got 0",
      "3:33: shots[1].duration_s: must be > 0, got -1.5",
      "4:33: shots[2].duration_s: must be at most 4 s for this model, got 4.5",
      "5:33: shots[3].duration_s: is shorter than one frame (0.0625 s at 16 fps)"}},
    {"prompt tags (columns inside the string, after escapes)",
     "{\"shots\": [\n"
     "  {\"prompt\": \"<S>ba di mo\", \"duration_s\": 1},\n"
     "  {\"prompt\": \"a\\tb <E> <s>x<E>\", \"duration_s\": 1},\n"
     "  {\"prompt\": \"\\u00e9 <AUDCAP>rain\", \"duration_s\": 1},\n"
     "  {\"prompt\": \"   \", \"duration_s\": 1}\n"
     "]}\n",
     {"2:15: shots[0].prompt: <S> is never closed (expected <E>)",
      "3:20: shots[1].prompt: <E> without an open <S>",
      "3:24: shots[1].prompt: unknown tag <s>; did you mean <S>?",
      "3:28: shots[1].prompt: <E> without an open <S>",
      "4:22: shots[2].prompt: <AUDCAP> is never closed (expected <ENDAUDCAP>)",
      "5:14: shots[3].prompt: must not be empty"}},
    {"continue",
     "{\"shots\": [\n"
     "  {\"prompt\": \"a\", \"duration_s\": 1, \"continue\": true},\n"
     "  {\"prompt\": \"a\", \"duration_s\": 1, \"continue\": true, \"image\": \"face.png\", "
     "\"transition\": \"cut\"}\n"
     "]}\n",
     {"2:48: shots[0].continue: the first shot has no previous shot to continue",
      "3:48: shots[1].continue: cannot be combined with \"image\": a continuation starts from "
      "the previous shot's last frames",
      "3:75: shots[1].transition: a continuation has no transition; remove this field"}},
    {"reference files",
     "{\"shots\": [\n"
     "  {\"prompt\": \"a\", \"duration_s\": 1, \"image\": \"missing.png\", \"audio\": \"missing.wav\"},\n"
     "  {\"prompt\": \"a\", \"duration_s\": 1, \"image\": \"fake.png\", \"audio\": \"face.png\"},\n"
     "  {\"prompt\": \"a\", \"duration_s\": 1, \"image\": \"sub\"}\n"
     "]}\n",
     {"2:45: shots[0].image: file not found: missing.png",
      "2:69: shots[0].audio: file not found: missing.wav",
      "3:45: shots[1].image: not a PNG file: fake.png",
      "3:66: shots[1].audio: not a WAV file: face.png", "4:45: shots[2].image: not a file: sub"}},
    {"transitions",
     "{\"shots\": [\n"
     "  {\"prompt\": \"a\", \"duration_s\": 1, \"transition\": \"crossfade\"},\n"
     "  {\"prompt\": \"a\", \"duration_s\": 1, \"transition\": \"crosfade\"},\n"
     "  {\"prompt\": \"a\", \"duration_s\": 1, \"transition\": \"wipe\"},\n"
     "  {\"prompt\": \"a\", \"duration_s\": 1, \"transition_ms\": 100},\n"
     "  {\"prompt\": \"a\", \"duration_s\": 0.5, \"transition\": \"crossfade\", \"transition_ms\": 800},\n"
     "  {\"prompt\": \"a\", \"duration_s\": 1, \"transition\": \"crossfade\", \"transition_ms\": 0}\n"
     "]}\n",
     {"2:50: shots[0].transition: the first shot has nothing to crossfade from",
      "3:50: shots[1].transition: must be \"cut\" or \"crossfade\", got \"crosfade\"; did you "
      "mean \"crossfade\"?",
      "4:50: shots[2].transition: must be \"cut\" or \"crossfade\", got \"wipe\"",
      "5:36: shots[3].transition_ms: only applies with \"transition\": \"crossfade\"",
      "6:82: shots[4].transition_ms: a 800 ms crossfade is longer than the shorter of the two "
      "shots (0.5 s)",
      "7:80: shots[5].transition_ms: must be within [1, 60000], got 0"}},
    {"two crossfades longer than the shot between them",
     "{\"shots\": [" SHOT ",\n"
     "  {\"prompt\": \"a\", \"duration_s\": 1, \"transition\": \"crossfade\", \"transition_ms\": 800},\n"
     "  {\"prompt\": \"a\", \"duration_s\": 1, \"transition\": \"crossfade\"}\n"
     "]}\n",
     {"3:50: shots[2].transition: shots[1] (1 s) is shorter than its two crossfades (800 + 250 ms)"}},
    {"output folder and sizes",
     "{\"output\": \"nodir/clip.mp4\", \"width\": 100, \"height\": 512, \"fps\": 24, "
     "\"shots\": [" SHOT "]}",
     {"1:12: output: folder does not exist: nodir", "1:39: width: must be a multiple of 16, got 100",
      "1:54: height: must be within [64, 256], got 512",
      "1:66: fps: must be 16 (the model's frame rate), got 24"}},
    {"output not mp4", "{\"output\": \"clip.avi\", \"shots\": [" SHOT "]}",
     {"1:12: output: must end in .mp4 (duet writes MP4: H.264 + AAC)"}},
    {"output folder is a file", "{\"output\": \"face.png/x.mp4\", \"shots\": [" SHOT "]}",
     {"1:12: output: not a folder: face.png"}},
    {"output is a folder", "{\"output\": \"sub.mp4\", \"shots\": [" SHOT "]}",
     {"1:12: output: is a folder: sub.mp4"}},
    {"guidance object", "{\"guidance\": {\"video\": 0.5, \"audo\": 3}, \"shots\": [" SHOT "]}",
     {"1:24: guidance.video: must be within [1, 20], got 0.5",
      "1:29: guidance.audo: unknown field; did you mean \"audio\"?"}},
    {"model file missing", "{\"model\": \"./models/none.safetensors\", \"shots\": [" SHOT "]}",
     {"1:11: model: file not found: ./models/none.safetensors"}},
    {"columns count characters, not bytes",
     "{\"comment\": \"h\xc3\xa9llo w\xc3\xb6rld\", \"width\": 100, \"shots\": [" SHOT "]}",
     {"1:37: width: must be a multiple of 16, got 100"}},
    {"byte-order mark is skipped", "\xef\xbb\xbf{\"width\": 100, \"shots\": [" SHOT "]}",
     {"1:11: width: must be a multiple of 16, got 100"}},
    {"odd keys are quoted in paths", "{\"my key\": 1, \"shots\": [" SHOT "]}",
     {"1:2: [\"my key\"]: unknown field"}},
};

/* Load `text` as bad.json (relative paths from the current folder) and compare every message. */
static void check_bad(const char *name, const char *text, const char *const *want, int n_want) {
    log_reset();
    duet_job *job = (duet_job *)1;
    duet_status st = duet_job_load_string(text, strlen(text), "bad.json", ".", NULL, &job);
    bool ok = st == DUET_ERR_FORMAT && job == NULL && g_n_log == n_want;
    for (int i = 0; ok && i < n_want; i++) {
        char full[1100];
        snprintf(full, sizeof full, "bad.json:%s", want[i]);
        ok = !strcmp(g_log[i], full);
    }
    T_CHECK(ok);
    if (!ok) {
        fprintf(stderr, "  case \"%s\": status %s, %d message(s); want:\n", name,
                duet_status_str(st), g_n_log);
        for (int i = 0; i < n_want; i++) fprintf(stderr, "    want: bad.json:%s\n", want[i]);
        log_dump();
    }
    duet_job_free(&job);
}

static void test_bad_scripts(void) {
    for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++) {
        int n = 0;
        while (n < 8 && bad_cases[i].want[n]) n++;
        check_bad(bad_cases[i].name, bad_cases[i].text, bad_cases[i].want, n);
    }
}

/* Scripts built in code: too many errors, too many shots, a prompt over the length limit. */
static void test_bad_generated(void) {
    enum { N = 40 };
    static char text[8192];
    size_t n = (size_t)snprintf(text, sizeof text, "{\"shots\": [\n");
    for (int i = 0; i < N; i++)
        n += (size_t)snprintf(text + n, sizeof text - n,
                              "{\"prompt\": \"a\", \"duration_s\": 0}%s\n", i + 1 < N ? "," : "");
    snprintf(text + n, sizeof text - n, "]}");
    log_reset();
    duet_job *job = NULL;
    duet_status st = duet_job_load_string(text, strlen(text), "bad.json", ".", NULL, &job);
    T_CHECK(st == DUET_ERR_FORMAT);
    T_CHECK(g_n_log == DUET_JOB_MAX_ERRORS + 1);
    T_CHECK(!strcmp(g_log[0], "bad.json:2:31: shots[0].duration_s: must be > 0, got 0"));
    T_CHECK(!strcmp(g_log[31], "bad.json:33:31: shots[31].duration_s: must be > 0, got 0"));
    T_CHECK(!strcmp(g_log[32], "bad.json: too many errors; 8 more not shown"));

    n = (size_t)snprintf(text, sizeof text, "{\"shots\": [");
    for (int i = 0; i < 65; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%s" SHOT, i ? "," : "");
    snprintf(text + n, sizeof text - n, "]}");
    check_bad("too many shots", text,
              (const char *[]){"1:11: shots: holds 65 shots; at most 64"}, 1);

    n = (size_t)snprintf(text, sizeof text, "{\"shots\": [{\"duration_s\": 1, \"prompt\": \"");
    for (int i = 0; i < 2001; i++) text[n++] = 'a';
    snprintf(text + n, sizeof text - n, "\"}]}");
    check_bad("prompt too long", text,
              (const char *[]){"1:40: shots[0].prompt: is 2001 bytes long; at most 2000"}, 1);
}

/* ---- valid scripts ---- */

static duet_job *load_sample(const char *file) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", DUET_SAMPLES_DIR, file);
    log_reset();
    duet_job *job = NULL;
    duet_status st = duet_job_load(path, NULL, &job);
    T_CHECK(st == DUET_OK && job != NULL && g_n_log == 0);
    if (st != DUET_OK || !job) {
        fprintf(stderr, "  sample %s: %s\n", path, duet_status_str(st));
        log_dump();
        duet_job_free(&job);
    }
    return job;
}

static bool same_path(const char *got, const char *file) {
    char want[512];
    snprintf(want, sizeof want, "%s/%s", DUET_SAMPLES_DIR, file);
    bool ok = got && !strcmp(got, want);
    if (!ok) fprintf(stderr, "    path %s, want %s\n", got ? got : "(null)", want);
    return ok;
}

static void test_samples(void) {
    duet_job *j = load_sample("talking_closeup.json");
    if (j) {
        T_CHECK(!strcmp(j->model, "duet-tiny") && !j->model_is_path);
        T_CHECK(same_path(j->output_path, "talking_closeup.mp4"));
        T_CHECK(j->width == 128 && j->height == 128 && j->fps == 16 && j->steps == 30);
        T_CHECK(j->n_shots == 1 && j->shots[0].n_frames == 48 && j->shots[0].seed == 7);
        T_CHECK(strstr(j->shots[0].prompt, "<S>ba di mo ka<E>") != NULL);
        T_CHECK(!j->shots[0].image_path && !j->shots[0].audio_path && !j->shots[0].continues);
        duet_job_free(&j);
        T_CHECK(j == NULL);
    }
    j = load_sample("three_shots.json");
    if (j) {
        T_CHECK(j->n_shots == 3 && j->seed == 42);
        T_CHECK(j->shots[0].n_frames == 32 && j->shots[1].n_frames == 40 &&
                j->shots[2].n_frames == 32);
        T_CHECK(j->shots[0].seed == 42 && j->shots[1].seed == 43 && j->shots[2].seed == 7);
        T_CHECK(j->shots[2].seed_given && !j->shots[0].seed_given && !j->shots[1].seed_given);
        T_CHECK(j->shots[1].transition == DUET_TRANSITION_CUT && !j->shots[1].continues);
        T_CHECK(j->shots[2].continues && j->shots[2].transition == DUET_TRANSITION_CUT);
        T_CHECK(j->shots[0].line == 11 && j->shots[0].col == 5 && j->shots[2].line == 20);
        duet_job_free(&j);
    }
    j = load_sample("lipsync_audio.json");
    if (j) {
        T_CHECK(j->n_shots == 1 && j->shots[0].n_frames == 48);
        T_CHECK(same_path(j->shots[0].audio_path, "voice.wav") && !j->shots[0].image_path);
        duet_job_free(&j);
    }
    j = load_sample("reference_image.json");
    if (j) {
        T_CHECK(same_path(j->shots[0].image_path, "face.png") && !j->shots[0].audio_path);
        T_CHECK(j->shots[0].n_frames == 32);
        duet_job_free(&j);
    }
}

/* Every *.json in samples/ loads, including ones added after this test was written. */
static void test_all_samples(void) {
    DIR *d = opendir(DUET_SAMPLES_DIR);
    T_CHECK(d != NULL);
    if (!d) return;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 5, ".json")) continue;
        duet_job *j = load_sample(e->d_name);
        n += j != NULL;
        duet_job_free(&j);
    }
    closedir(d);
    T_CHECK(n >= 4);
}

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    enum { MAX = 1 << 16 };
    char *buf = calloc(1, MAX + 1);
    if (buf) (void)fread(buf, 1, MAX, f);
    fclose(f);
    return buf;
}

/* The n-th (0-based) ```json block of a markdown text, copied; NULL if absent. */
static char *json_block(const char *doc, int n) {
    const char *p = doc;
    for (int i = 0; i <= n; i++) {
        p = strstr(p, "```json\n");
        if (!p) return NULL;
        p += 8;
    }
    const char *end = strstr(p, "\n```");
    if (!end) return NULL;
    char *r = calloc(1, (size_t)(end - p) + 2);
    if (r) memcpy(r, p, (size_t)(end - p) + 1);
    return r;
}

/* docs/job-script.md: its first example loads, and its broken example gives exactly the
 * messages the page shows (the lines that start with "bad_scene.json:"). */
static void test_docs_examples(void) {
    char *doc = read_text(DUET_DOCS_DIR "/job-script.md");
    T_CHECK(doc != NULL);
    if (!doc) return;
    char want[8][512];
    int n_want = 0;
    for (const char *p = doc; (p = strstr(p, "\nbad_scene.json:")) && n_want < 8; p++) {
        size_t len = strcspn(p + 1, "\n");
        snprintf(want[n_want++], sizeof want[0], "%.*s", (int)len, p + 1);
    }
    char *good = json_block(doc, 0), *bad = json_block(doc, 1);
    T_CHECK(good && bad && n_want == 5);
    duet_job *j = NULL;
    log_reset();
    if (good) T_CHECK_OK(duet_job_load_string(good, strlen(good), "scene.json", NULL, NULL, &j));
    duet_job_free(&j);
    if (bad) {
        log_reset();
        duet_status st = duet_job_load_string(bad, strlen(bad), "bad_scene.json", NULL, NULL, &j);
        bool ok = st == DUET_ERR_FORMAT && g_n_log == n_want;
        for (int i = 0; ok && i < n_want; i++) ok = !strcmp(g_log[i], want[i]);
        T_CHECK(ok);
        if (!ok) log_dump();
    }
    free(good);
    free(bad);
    free(doc);
}

static void test_good_details(void) {
    const char *text =
        "\xef\xbb\xbf{\"negative_video\": \"blur\", \"guidance\": {\"audio\": 2.5}, \"seed\": 100,\n"
        " \"shots\": [\n"
        "  {\"prompt\": \"a red round head <S>ba<E>\", \"duration_s\": 1.03, \"negative_video\": \"\"},\n"
        "  {\"prompt\": \"a blue square head\", \"duration_s\": 0.5, \"transition\": \"crossfade\",\n"
        "   \"image\": \"no/such.png\", \"comment\": \"files are not checked without base_dir\"},\n"
        "  {\"prompt\": \"x\", \"duration_s\": 0.04, \"continue\": true, \"audio\": \"v.wav\"}\n"
        " ]}";
    log_reset();
    duet_job *j = NULL;
    T_CHECK_OK(duet_job_load_string(text, strlen(text), "clips/scene.json", NULL, NULL, &j));
    T_CHECK(g_n_log == 0);
    if (!j) {
        log_dump();
        return;
    }
    T_CHECK(!strcmp(j->output_path, "scene.mp4") && !strcmp(j->source, "clips/scene.json"));
    T_CHECK(j->guidance_video == 4.0f && j->guidance_audio == 2.5f && j->seed == 100);
    const duet_job_shot *s = j->shots;
    T_CHECK(j->n_shots == 3 && s[0].n_frames == 16 && s[1].n_frames == 8 && s[2].n_frames == 1);
    T_CHECK(s[0].duration_s == 1.03 && s[0].seed == 100 && s[1].seed == 101 && s[2].seed == 102);
    T_CHECK(!strcmp(s[0].negative_video, "") && !strcmp(s[1].negative_video, "blur"));
    T_CHECK(s[0].negative_audio == NULL);
    T_CHECK(s[1].transition == DUET_TRANSITION_CROSSFADE && s[1].transition_ms == 250);
    T_CHECK(s[0].transition == DUET_TRANSITION_CUT && s[0].transition_ms == 0);
    T_CHECK(!strcmp(s[1].image_path, "no/such.png") && !strcmp(s[2].audio_path, "v.wav"));
    T_CHECK(s[2].continues && s[0].line == 3 && s[0].col == 3);
    duet_job_free(&j);
    duet_job_free(&j); /* NULL is fine */
    duet_job_free(NULL);

    const char *g = "{\"guidance\": 6, \"width\": 192.0, \"model\": \"models/x.safetensors\", \"output\": \"/tmp/o.mp4\","
                    " \"shots\": [" SHOT "]}";
    T_CHECK_OK(duet_job_load_string(g, strlen(g), NULL, NULL, NULL, &j));
    if (j) {
        T_CHECK(j->guidance_video == 6.0f && j->guidance_audio == 6.0f && j->model_is_path);
        T_CHECK(j->width == 192);
        T_CHECK(!strcmp(j->output_path, "/tmp/o.mp4") && !strcmp(j->source, "<string>"));
        duet_job_free(&j);
    }
}

/* The model hook: limits follow the model the script names, and it may refuse a model. */
static duet_status model_hook(const char *model, bool is_path, duet_job_defaults *d, char *err,
                              size_t err_size, void *user_data) {
    ++*(int *)user_data;
    if (!strcmp(model, "big")) {
        d->max_shot_s = 10;
        d->width = 256;
        return DUET_OK;
    }
    if (!strcmp(model, "duet-tiny")) return DUET_OK;
    snprintf(err, err_size, "unknown model \"%s\" (known: duet-tiny, big)", model);
    return DUET_ERR_NOT_FOUND;
}

static void test_model_hook(void) {
    int calls = 0;
    duet_job_defaults d = duet_job_tiny_defaults();
    d.model_fn = model_hook;
    d.model_user_data = &calls;
    const char *ok = "{\"model\": \"big\", \"shots\": [{\"prompt\": \"a\", \"duration_s\": 8}]}";
    duet_job *j = NULL;
    log_reset();
    T_CHECK_OK(duet_job_load_string(ok, strlen(ok), "m.json", NULL, &d, &j));
    T_CHECK(calls == 1 && j && j->width == 256 && j->shots[0].n_frames == 128);
    duet_job_free(&j);
    const char *bad = "{\"model\": \"ovi-960\", \"shots\": [" SHOT "]}";
    T_CHECK(duet_job_load_string(bad, strlen(bad), "m.json", NULL, &d, &j) == DUET_ERR_FORMAT);
    T_CHECK(g_n_log == 1 &&
            !strcmp(g_log[0],
                    "m.json:1:11: model: unknown model \"ovi-960\" (known: duet-tiny, big)"));
    /* no "model" field: the hook still sees the default */
    const char *none = "{\"shots\": [" SHOT "]}";
    T_CHECK_OK(duet_job_load_string(none, strlen(none), "m.json", NULL, &d, &j));
    T_CHECK(calls == 3);
    duet_job_free(&j);
}

/* A model trained at one frame area (Ovi: 720 x 720 within 10 %). */
static void test_frame_area(void) {
    duet_job_defaults d = duet_job_tiny_defaults();
    d.min_area = 128 * 128 * 9 / 10;
    d.max_area = 128 * 128 * 11 / 10;
    duet_job *j = NULL;
    const char *ok = "{\"width\": 112, \"height\": 144, \"shots\": [" SHOT "]}";
    T_CHECK_OK(duet_job_load_string(ok, strlen(ok), "a.json", NULL, &d, &j));
    duet_job_free(&j);
    const char *wide = "{\"width\": 256, \"shots\": [" SHOT "]}";
    log_reset();
    T_CHECK(duet_job_load_string(wide, strlen(wide), "a.json", NULL, &d, &j) ==
            DUET_ERR_FORMAT);
    T_CHECK(g_n_log == 1 && !strcmp(g_log[0], "a.json:1:11: width: 256x128 is 32768 pixels a "
                                              "frame; this model takes 14745 to 18022 (its "
                                              "default is 128x128)"));
    const char *tall = "{\"height\": 64, \"shots\": [" SHOT "]}";
    log_reset();
    T_CHECK(duet_job_load_string(tall, strlen(tall), "a.json", NULL, &d, &j) ==
            DUET_ERR_FORMAT);
    T_CHECK(g_n_log == 1 && strstr(g_log[0], "a.json:1:12: height: 128x64 is 8192") == g_log[0]);
}

/* duet_job_size_for_image against Ovi's rule (ovi/utils/processing_utils.py _best_hw_for_area)
 * evaluated in Python for these inputs: image width, height, area, multiple -> width, height. */
static void test_size_for_image(void) {
    static const struct { int iw, ih; int64_t area; int m, w, h; } cases[] = {
        {1280, 720, 518400, 32, 960, 544},  {720, 1280, 518400, 32, 544, 960},
        {1024, 1024, 518400, 32, 704, 704}, {640, 480, 518400, 32, 832, 608},
        {3000, 1000, 518400, 32, 1248, 416}, {100, 100, 518400, 32, 704, 704},
        {1920, 1080, 921600, 32, 1280, 704}, {256, 128, 4096, 16, 96, 48},
        {128, 128, 4096, 32, 64, 64},       {500, 333, 16384, 16, 160, 112},
        {7, 3, 518400, 32, 1088, 480},      {1, 1000, 518400, 32, 32, 22656},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int w = 0, h = 0;
        duet_job_size_for_image(cases[i].iw, cases[i].ih, cases[i].area, cases[i].m, &w, &h);
        T_CHECK_MSG(w == cases[i].w && h == cases[i].h, "%dx%d at %lld: got %dx%d, want %dx%d",
                    cases[i].iw, cases[i].ih, (long long)cases[i].area, w, h, cases[i].w,
                    cases[i].h);
    }
}

static int g_image_w, g_image_h, g_image_calls;

static bool image_size_hook(const char *path, int *w, int *h, char *err, size_t err_size) {
    g_image_calls++;
    if (g_image_w <= 0) {
        snprintf(err, err_size, "cannot read the size of %s", path);
        return false;
    }
    *w = g_image_w;
    *h = g_image_h;
    return true;
}

/* A job with no size and a reference image renders at the image's aspect ratio (Ovi's i2v);
 * runs in the scratch folder (face.png). */
static void test_size_from_image(void) {
    duet_job_defaults d = duet_job_tiny_defaults();
    d.min_area = 128 * 128 * 9 / 10;
    d.max_area = 128 * 128 * 11 / 10;
    d.target_area = 128 * 128;
    d.image_size_fn = image_size_hook;
    duet_job *j = NULL;
    const char *second = "{\"shots\": [" SHOT ", {\"prompt\": \"b\", \"duration_s\": 1, "
                         "\"image\": \"face.png\"}]}";
    g_image_w = 500, g_image_h = 333, g_image_calls = 0;
    T_CHECK_OK(duet_job_load_string(second, strlen(second), "i.json", ".", &d, &j));
    T_CHECK(j && j->width == 160 && j->height == 112 && j->size_from_shot == 1 &&
            g_image_calls == 1);
    duet_job_free(&j);
    /* a size in the script wins: no image is looked at */
    const char *sized = "{\"height\": 128, \"shots\": [{\"prompt\": \"b\", \"duration_s\": 1, "
                        "\"image\": \"face.png\"}]}";
    g_image_calls = 0;
    T_CHECK_OK(duet_job_load_string(sized, strlen(sized), "i.json", ".", &d, &j));
    T_CHECK(j && j->width == 128 && j->height == 128 && j->size_from_shot == -1 &&
            g_image_calls == 0);
    duet_job_free(&j);
    /* without a target area (duet-tiny) the default size stays */
    duet_job_defaults tiny = d;
    tiny.target_area = 0;
    T_CHECK_OK(duet_job_load_string(second, strlen(second), "i.json", ".", &tiny, &j));
    T_CHECK(j && j->width == 128 && j->height == 128 && j->size_from_shot == -1);
    duet_job_free(&j);
    /* an aspect ratio the model's sides cannot hold, and an unreadable image */
    const char *one = "{\"shots\": [{\"prompt\": \"b\", \"duration_s\": 1, \"image\": "
                      "\"face.png\"}]}";
    g_image_w = 4000, g_image_h = 500;
    log_reset();
    T_CHECK(duet_job_load_string(one, strlen(one), "i.json", ".", &d, &j) == DUET_ERR_FORMAT);
    T_CHECK_MSG(g_n_log == 1 && !strcmp(g_log[0], "i.json:1:54: shots[0].image: is 4000x500; at "
                "this model's frame area (16384 pixels) its aspect ratio gives 368x48 frames, "
                "outside the model's 64 to 256 pixels a side: give the job's width and height "
                "(the image is then centre-cropped to them)"), "%s", g_n_log ? g_log[0] : "");
    g_image_w = 0;
    log_reset();
    T_CHECK(duet_job_load_string(one, strlen(one), "i.json", ".", &d, &j) == DUET_ERR_FORMAT);
    T_CHECK(g_n_log == 1 && strstr(g_log[0], "shots[0].image: cannot read the size of"));
}

static void test_files(const char *dir) {
    duet_job *j = (duet_job *)1;
    log_reset();
    T_CHECK(duet_job_load("no-such-job.json", NULL, &j) == DUET_ERR_IO && j == NULL);
    T_CHECK(g_n_log == 1 && strstr(g_log[0], "no-such-job.json: cannot open") == g_log[0]);
    /* relative paths are relative to the script's folder, not the current one */
    FILE *f = fopen("sub/job.json", "wb");
    T_CHECK(f != NULL);
    if (!f) return;
    fputs("{\"shots\": [{\"prompt\": \"a\", \"duration_s\": 1, \"image\": \"../face.png\"}]}", f);
    fclose(f);
    char path[600], want[600];
    snprintf(path, sizeof path, "%s/sub/job.json", dir);
    T_CHECK_OK(duet_job_load(path, NULL, &j));
    if (j) {
        snprintf(want, sizeof want, "%s/sub/../face.png", dir);
        T_CHECK(!strcmp(j->shots[0].image_path, want));
        snprintf(want, sizeof want, "%s/sub/job.mp4", dir);
        T_CHECK(!strcmp(j->output_path, want));
        duet_job_free(&j);
    }
    T_CHECK_OK(duet_job_load("sub/job.json", NULL, &j));
    if (j) T_CHECK(!strcmp(j->shots[0].image_path, "sub/../face.png"));
    duet_job_free(&j);
    /* too large */
    f = fopen("big.json", "wb");
    if (f) {
        for (int i = 0; i <= DUET_JOB_MAX_BYTES / 64; i++)
            fprintf(f, "%63s\n", ""); /* 64 bytes of whitespace */
        fclose(f);
    }
    log_reset();
    T_CHECK(duet_job_load("big.json", NULL, &j) == DUET_ERR_FORMAT && g_n_log == 1);
}

/* Every allocation of a load failing in turn: a clean DUET_ERR_OUT_OF_MEMORY each time, then
 * success once allocations are plentiful (ASan builds check for leaks). */
static void test_alloc_failures(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/three_shots.json", DUET_SAMPLES_DIR);
    bool done = false;
    for (long k = 0; k < 200 && !done; k++) {
        duet_job *j = NULL;
        duet_alloc_fail_after(k);
        duet_status st = duet_job_load(path, NULL, &j);
        duet_alloc_fail_after(-1);
        T_CHECK(st == DUET_OK || (st == DUET_ERR_OUT_OF_MEMORY && j == NULL));
        done = st == DUET_OK;
        duet_job_free(&j);
    }
    T_CHECK(done);
}

/* A scratch folder with the reference files the broken scripts point at; tests run inside it
 * so messages show paths as written. */
static bool make_scratch(char *dir, size_t size) {
    snprintf(dir, size, "/tmp/duet_test_job_XXXXXX");
    if (!mkdtemp(dir) || chdir(dir) != 0) return false;
    static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    FILE *f = fopen("face.png", "wb");
    if (!f) return false;
    fwrite(png, 1, sizeof png, f);
    fclose(f);
    f = fopen("fake.png", "wb");
    if (!f) return false;
    fputs("not an image", f);
    fclose(f);
    return mkdir("sub", 0755) == 0 && mkdir("sub.mp4", 0755) == 0;
}

static void remove_scratch(const char *dir) {
    static const char *const files[] = {"face.png", "fake.png", "big.json", "sub/job.json"};
    char p[600];
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        remove(p);
    }
    snprintf(p, sizeof p, "%s/sub", dir);
    remove(p);
    snprintf(p, sizeof p, "%s/sub.mp4", dir);
    remove(p);
    if (chdir("/") == 0) remove(dir);
}

int main(void) {
    duet_log_set_callback(capture, NULL);
    test_jsonpos();
    test_tags();
    test_suggest();
    test_samples();
    test_all_samples();
    test_docs_examples();
    test_good_details();
    test_model_hook();
    test_frame_area();
    test_size_for_image();
    test_alloc_failures();
    char dir[64];
    bool scratch = make_scratch(dir, sizeof dir);
    T_CHECK(scratch);
    if (scratch) {
        test_bad_scripts();
        test_bad_generated();
        test_files(dir);
        test_size_from_image();
    }
    remove_scratch(dir);
    duet_log_set_callback(NULL, NULL);
    return duet_test_end(NULL, 0);
}
