/* duet — the C++ shim over libsentencepiece (Debian's libsentencepiece-dev) that gives
 * encoders/tokenizer.c a C API (spm_internal.h). Kept tiny on purpose: it only loads a
 * serialized model and encodes text to ids. Every exception and every failed util::Status
 * becomes a duet_status plus a message in the caller's buffer; nothing here logs or prints.
 * Mirrors: sentencepiece_processor.h, SentencePieceProcessor::LoadFromSerializedProto and
 * Encode(string_view, std::vector<int> *). Built as C++17 (the library's header needs
 * std::string_view); the rest of duet stays C11. */
#include <sentencepiece_processor.h>

#include <cstdio>
#include <exception>
#include <new>
#include <string_view>
#include <vector>

#include "encoders/spm_internal.h"

struct duet_spm {
    sentencepiece::SentencePieceProcessor sp;
};

static void set_err(char *err, size_t err_cap, const char *what, const char *detail) {
    if (err && err_cap > 0) std::snprintf(err, err_cap, "%s%s", what, detail ? detail : "");
}

extern "C" duet_status duet_spm_load(const void *data, size_t nbytes, duet_spm **out,
                                     duet_spm_info *info, char *err, size_t err_cap) {
    *out = nullptr;
    duet_spm *m = nullptr;
    try {
        m = new duet_spm();
        const sentencepiece::util::Status st = m->sp.LoadFromSerializedProto(
            std::string_view(static_cast<const char *>(data), nbytes));
        if (!st.ok()) {
            set_err(err, err_cap, "SentencePiece could not load the model: ",
                    st.ToString().c_str());
            delete m;
            return DUET_ERR_FORMAT;
        }
        info->n_pieces = m->sp.GetPieceSize();
        info->eos_id = m->sp.eos_id();
        info->pad_id = m->sp.pad_id();
        info->unk_id = m->sp.unk_id();
        *out = m;
        return DUET_OK;
    } catch (const std::bad_alloc &) {
        delete m;
        set_err(err, err_cap, "out of memory while SentencePiece loaded the model", nullptr);
        return DUET_ERR_OUT_OF_MEMORY;
    } catch (const std::exception &e) {
        delete m;
        set_err(err, err_cap, "SentencePiece failed while loading the model: ", e.what());
        return DUET_ERR_FORMAT;
    } catch (...) {
        delete m;
        set_err(err, err_cap, "SentencePiece failed while loading the model", nullptr);
        return DUET_ERR_FORMAT;
    }
}

extern "C" duet_status duet_spm_encode(const duet_spm *m, const char *text, size_t text_len,
                                       int32_t *ids, size_t max_ids, size_t *n_total, char *err,
                                       size_t err_cap) {
    *n_total = 0;
    try {
        std::vector<int> v;
        const sentencepiece::util::Status st = m->sp.Encode(std::string_view(text, text_len), &v);
        if (!st.ok()) {
            set_err(err, err_cap, "SentencePiece could not encode the text: ",
                    st.ToString().c_str());
            return DUET_ERR_BACKEND;
        }
        for (size_t i = 0; i < v.size() && i < max_ids; i++) ids[i] = static_cast<int32_t>(v[i]);
        *n_total = v.size();
        return DUET_OK;
    } catch (const std::bad_alloc &) {
        set_err(err, err_cap, "out of memory while SentencePiece encoded the text", nullptr);
        return DUET_ERR_OUT_OF_MEMORY;
    } catch (const std::exception &e) {
        set_err(err, err_cap, "SentencePiece failed while encoding the text: ", e.what());
        return DUET_ERR_BACKEND;
    } catch (...) {
        set_err(err, err_cap, "SentencePiece failed while encoding the text", nullptr);
        return DUET_ERR_BACKEND;
    }
}

extern "C" void duet_spm_free(duet_spm *m) {
    delete m;
}
