/* duet — job scripts: the JSON file a user writes to describe a multi-shot clip (model,
 * output, size, and a list of shots with prompts, references and transitions). This module
 * reads and validates one into a duet_job; `duet render` then runs the shots. Format and
 * every rule: docs/job-script.md.
 *
 * Errors are reported through duet_log (level ERROR), one message each, all of them (up to
 * DUET_JOB_MAX_ERRORS), sorted by position, in the form
 *     job.json:14:9: shots[2].duration_s: must be > 0, got -1
 * Syntax errors come from jansson (its line:column); semantic errors are located in the text
 * by cli/jsonpos.h. The parser depends on core/ (logging, allocation) and jansson only, so
 * it can be fuzzed on its own (tests/fuzz/fuzz_job.c). */
#ifndef DUET_JOB_H
#define DUET_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

#define DUET_JOB_MAX_ERRORS 32
#define DUET_JOB_MAX_BYTES (1 << 20) /* a script larger than this is refused */

/* Defaults and limits of the model a job runs. Values a script leaves out are taken from
 * here; values it gives are checked against the limits. The caller fills it for the model
 * (duet_job_tiny_defaults() for the embedded duet-tiny). */
typedef struct duet_job_defaults duet_job_defaults;

/* Optional hook: the script names a model (`model`, a name or a resolved path); adjust
 * *d (defaults and limits) for it, or return an error status and write a one-line reason
 * into err (err_size bytes), which is reported at the script's "model" field. */
typedef duet_status (*duet_job_model_fn)(const char *model, bool is_path, duet_job_defaults *d,
                                         char *err, size_t err_size, void *user_data);

/* Optional hook: the pixel size of a reference image (`path`: resolved, checked to be a PNG).
 * Returns false and writes a one-line reason into err when the size cannot be read. */
typedef bool (*duet_job_image_size_fn)(const char *path, int *width, int *height, char *err,
                                       size_t err_size);

struct duet_job_defaults {
    const char *model;        /* model used when the script names none, e.g. "duet-tiny" */
    int width, height;        /* default frame size in pixels */
    int fps;                  /* default frame rate */
    int steps;                /* default sampling steps */
    float guidance_video;     /* default classifier-free guidance scales */
    float guidance_audio;
    uint64_t seed;            /* default job seed */
    /* limits */
    int size_multiple;        /* width and height must be multiples of this */
    int min_size, max_size;   /* each of width and height within [min_size, max_size] */
    int64_t min_area, max_area; /* width * height within [min_area, max_area]; 0: no limit */
    int64_t target_area;      /* the frame area the model was trained at; 0: none. With it, a
                                 job that gives neither width nor height and has a reference
                                 image takes the image's aspect ratio at this area (as Ovi's
                                 image-to-video does; duet_job_size_for_image) */
    duet_job_image_size_fn image_size_fn; /* NULL: the size is never taken from an image */
    int min_fps, max_fps;     /* frame rates the model can produce */
    int max_steps;            /* steps within [1, max_steps] */
    float max_guidance;       /* guidance within [1, max_guidance] (1 = no guidance) */
    double max_shot_s;        /* a shot's duration_s within (0, max_shot_s] */
    int max_shots;            /* shots within [1, max_shots] */
    int max_prompt_bytes;     /* a prompt's length in UTF-8 bytes */
    duet_job_model_fn model_fn; /* NULL: any model name is accepted with these values */
    void *model_user_data;
};

/* duet-tiny: 128x128 at 16 fps, shots up to 4 s, sizes in multiples of 16 from 64 to 256. */
duet_job_defaults duet_job_tiny_defaults(void);

typedef enum {
    DUET_TRANSITION_CUT = 0,       /* hard cut from the previous shot */
    DUET_TRANSITION_CROSSFADE = 1, /* picture and sound crossfade over transition_ms */
    DUET_TRANSITION_COUNT_,
} duet_transition;

typedef struct {
    char *prompt;            /* with Ovi tags: speech <S>..<E>, sound <AUDCAP>..<ENDAUDCAP> */
    char *negative_video;    /* the shot's, else the job's, else NULL (model default) */
    char *negative_audio;
    double duration_s;       /* as written */
    int n_frames;            /* round(duration_s * fps), >= 1 */
    uint64_t seed;           /* the shot's, else job seed + shot index */
    bool seed_given;
    char *image_path;        /* reference first frame (PNG), resolved; NULL if none */
    char *audio_path;        /* reference audio (WAV), resolved; NULL if none */
    bool continues;          /* "continue": extends the previous shot */
    duet_transition transition; /* into this shot from the previous one */
    int transition_ms;       /* crossfade length; 0 for a cut */
    int line, col;           /* where the shot's object starts in the script */
} duet_job_shot;

typedef struct {
    char *source;            /* the script's name as given (for messages) */
    char *model;             /* a model name, or a path resolved against the script's folder */
    bool model_is_path;
    char *output_path;       /* resolved against the script's folder */
    int width, height, fps, steps;
    int size_from_shot;      /* the shot whose reference image set width x height, else -1 */
    float guidance_video, guidance_audio;
    uint64_t seed;
    int n_shots;
    duet_job_shot *shots;
} duet_job;

/* Read and validate the script at `path`. Relative paths inside it (output, model, image,
 * audio) are resolved against the script's folder and must exist (the output's folder must).
 * d == NULL uses duet_job_tiny_defaults().
 * Returns DUET_OK and *out (free with duet_job_free), or: DUET_ERR_IO (cannot read the file),
 * DUET_ERR_FORMAT (syntax or validation errors, each logged), DUET_ERR_OUT_OF_MEMORY,
 * DUET_ERR_INVALID_ARG (NULL path/out). *out is NULL on failure. Thread-safe if the log
 * callback is. */
duet_status duet_job_load(const char *path, const duet_job_defaults *d, duet_job **out);

/* Same from memory. `name` is used in messages (e.g. "job.json"; NULL: "<string>").
 * `base_dir` is the folder relative paths are resolved against; NULL means touch no file:
 * paths are kept as written and neither existence nor file type is checked (what the fuzzer
 * uses). text need not be NUL-terminated; a leading UTF-8 byte-order mark is skipped. */
duet_status duet_job_load_string(const char *text, size_t len, const char *name,
                                 const char *base_dir, const duet_job_defaults *d,
                                 duet_job **out);

/* The frame size for a reference image of img_w x img_h pixels, as Ovi's image-to-video picks
 * it (ovi/utils/processing_utils.py preprocess_image_tensor, _best_hw_for_area): among sides in
 * multiples of `multiple` near the image's aspect ratio, the one whose area is closest to
 * `area`, ties going to the closer aspect ratio. All arguments >= 1. */
void duet_job_size_for_image(int img_w, int img_h, int64_t area, int multiple, int *width,
                             int *height);

/* Free a job and set *job to NULL; accepts NULL and *job == NULL. */
void duet_job_free(duet_job **job);

/* Prompt tag check, also used by the loader. Scans `prompt` for Ovi tags and writes up to
 * `max` problems (byte offset into the prompt and a message) to out; returns how many were
 * found in total (may exceed max). Rules: <S> is closed by <E> and <AUDCAP> by <ENDAUDCAP>,
 * no tag opens inside another, nothing is left open, a span is not empty, and anything else
 * shaped like a tag (<s>, <AUDIO>, <ENDAUDCAP without '>') is an error. */
typedef struct {
    size_t offset;
    char msg[96];
} duet_job_tag_issue;
int duet_job_check_tags(const char *prompt, duet_job_tag_issue *out, int max);

/* Edit distance (Levenshtein with adjacent transpositions, case-insensitive ASCII) between a
 * and b, stopping early once it exceeds `cap` (then returns cap + 1). */
int duet_job_edit_distance(const char *a, const char *b, int cap);

/* The candidate closest to `word` if it is close enough to be a likely typo, else NULL. */
const char *duet_job_suggest(const char *word, const char *const *candidates, int n);

#endif
