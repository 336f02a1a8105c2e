/* lagvk.h: the C API of lagvk, a Vulkan engine for Llama-family models with Log-Augmented Generation.
 *
 * This header is lagvk's whole public surface: it compiles as C99 and as C++, and includes nothing but
 * <stddef.h> and <stdint.h>. A C++ wrapper with owning handles is in lagvk/lagvk.hpp. docs/API.md has an
 * example and the stability promise.
 *
 * Enums. Each enum ends with a *_MAX_ENUM value (as Vulkan's do) that only fixes its size to that of an int,
 * so any int a caller passes is a valid value of the type; values the header does not name are
 * LAGVK_ERROR_INVALID_ARGUMENT.
 *
 * Errors. Every call that can fail returns a lagvk_status. LAGVK_OK is 0; anything else is an error an
 * app can branch on, and lagvk_last_error() returns its message (one per thread, valid until the next
 * failing call on that thread). Outputs are written only on success; on failure an output handle is set
 * to NULL. Messages describe the problem in library terms (a file, a size, a model); they never name
 * command-line flags.
 *
 * Ownership. A handle returned through an out-parameter belongs to the caller, who frees it with the
 * matching *_free / *_close function (each accepts NULL). Strings and arrays reached through a handle
 * (lagvk_model_get_info, lagvk_completion_get, lagvk_log_list_get) stay valid until that handle is freed.
 * A model freed while stores opened with it are still open stays loaded until the last of them closes
 * (its handle is invalid at once). Passing a NULL, freed or wrong-kind handle is LAGVK_ERROR_INVALID_ARGUMENT
 * (live handles are tracked); freeing a handle while a call on it runs in another thread is undefined.
 *
 * Threads. Calls on one lagvk_model are serialised by a lock inside it: several threads may share a
 * model, and their calls run one at a time. A model loaded with n_parallel > 1 is the exception for
 * lagvk_generate, lagvk_generate_tokens and lagvk_chat: up to n_parallel of them run at once, their decode
 * steps batched into shared forward passes (continuous batching), and other calls run between those
 * passes. lagvk_cancel may be called from any thread at any time, and stops the generations running on
 * that model at their next token. A lagvk_store may be shared by threads the same way (its calls take its
 * model's lock); several stores, in this process or others, may open the same directory at once (LMDB:
 * many readers, one writer at a time, writers wait for each other). lagvk_last_error is per thread.
 * Callbacks run on the calling thread, inside the call, with the model's lock held (not so for the token
 * callback of a parallel generation): a callback must not call back into the same model or its stores
 * (except lagvk_cancel).
 */
#ifndef LAGVK_H
#define LAGVK_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define LAGVK_API
#elif defined(LAGVK_BUILDING_LIBRARY)
#define LAGVK_API __attribute__((visibility("default")))
#else
#define LAGVK_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- version --------------------------------------------------------------------------------------- */

#define LAGVK_VERSION_MAJOR 0
#define LAGVK_VERSION_MINOR 2
#define LAGVK_VERSION_PATCH 0
#define LAGVK_VERSION_STRING "0.2.0"
/** MAJOR * 10000 + MINOR * 100 + PATCH, for #if comparisons. */
#define LAGVK_VERSION_NUMBER (LAGVK_VERSION_MAJOR * 10000 + LAGVK_VERSION_MINOR * 100 + LAGVK_VERSION_PATCH)

/** The version of the library actually loaded ("0.2.0"); compare with LAGVK_VERSION_STRING. */
LAGVK_API const char* lagvk_version_string(void);
/** The git commit the library was built from ("unknown" outside a git checkout). */
LAGVK_API const char* lagvk_build_commit(void);

/* ---- status codes ---------------------------------------------------------------------------------- */

typedef enum lagvk_status {
  LAGVK_OK = 0,
  LAGVK_ERROR_INVALID_ARGUMENT = 1,  /**< NULL where a value is needed, a value out of range, a bad handle */
  LAGVK_ERROR_BUFFER_TOO_SMALL = 2,  /**< the size needed was written; call again with a larger buffer */
  LAGVK_ERROR_FILE_NOT_FOUND = 3,    /**< a model file or store directory does not exist */
  LAGVK_ERROR_IO = 4,                /**< a file could not be read or written (permissions, disk) */
  LAGVK_ERROR_BAD_MODEL_FILE = 5,    /**< not a GGUF file, or a damaged or inconsistent one */
  LAGVK_ERROR_UNSUPPORTED_MODEL = 6, /**< a valid GGUF lagvk cannot run (architecture, tensor type) */
  LAGVK_ERROR_NO_DEVICE = 7,         /**< no usable Vulkan device, or the index asked for is not there */
  LAGVK_ERROR_OUT_OF_DEVICE_MEMORY = 8, /**< the model, context or a buffer does not fit on the device */
  LAGVK_ERROR_OUT_OF_HOST_MEMORY = 9,
  LAGVK_ERROR_CONTEXT_FULL = 10,         /**< the prompt (with its logs) does not fit in the context */
  LAGVK_ERROR_BAD_INPUT = 11,            /**< malformed input text: trace JSON, a token id out of range */
  LAGVK_ERROR_STORE = 12,                /**< the log store failed: damaged, locked, read-only, full disk */
  LAGVK_ERROR_STORE_MODEL_MISMATCH = 13, /**< the store was made with a different model (or its dense
                                              vectors with a different embedder) */
  LAGVK_ERROR_NOT_FOUND = 14,            /**< no log with that id */
  LAGVK_ERROR_DEVICE_LOST = 15,          /**< the Vulkan device was lost: free the model and load it again */
  LAGVK_ERROR_CANCELLED = 16,            /**< a callback or lagvk_cancel stopped the call */
  LAGVK_ERROR_INTERNAL = 17              /**< a bug in lagvk: please report it with the message */
} lagvk_status;

/** "LAGVK_ERROR_CONTEXT_FULL" and so on; "unknown status" for other values. Never NULL. */
LAGVK_API const char* lagvk_status_name(lagvk_status status);
/** The message of the last failed call on this thread ("" when none). Never NULL. */
LAGVK_API const char* lagvk_last_error(void);

/* ---- devices --------------------------------------------------------------------------------------- */

typedef enum lagvk_device_type {
  LAGVK_DEVICE_OTHER = 0,
  LAGVK_DEVICE_DISCRETE_GPU = 1,
  LAGVK_DEVICE_INTEGRATED_GPU = 2,
  LAGVK_DEVICE_VIRTUAL_GPU = 3,
  LAGVK_DEVICE_CPU = 4, /**< a software rasteriser such as Mesa's lavapipe */
  LAGVK_DEVICE_TYPE_MAX_ENUM = 0x7fffffff
} lagvk_device_type;

typedef struct lagvk_device_info {
  uint32_t index; /**< what lagvk_model_params.device selects */
  const char* name;
  lagvk_device_type type;
  const char* driver_name; /**< "llvmpipe", "NVIDIA", ... */
  const char* driver_info;
  const char* api_version; /**< "1.3.255" */
  uint32_t vendor_id, device_id;
  uint64_t device_memory_bytes;      /**< the largest device-local heap */
  uint64_t max_storage_buffer_range; /**< bytes one kernel binding may address */
  uint32_t subgroup_size;
  int usable; /**< 1: lagvk can run on it; 0: a required feature is missing (see why_unusable) */
  const char* why_unusable; /**< "" when usable */
  int is_default;           /**< the device a model loads on when none is asked for */
} lagvk_device_info;

typedef struct lagvk_device_list lagvk_device_list;

/** Every Vulkan device, in the order the index refers to. */
LAGVK_API lagvk_status lagvk_devices(lagvk_device_list** out);
LAGVK_API size_t lagvk_device_list_size(const lagvk_device_list* list);
/** NULL when i is out of range. */
LAGVK_API const lagvk_device_info* lagvk_device_list_get(const lagvk_device_list* list, size_t i);
LAGVK_API void lagvk_device_list_free(lagvk_device_list* list);

/* ---- models ---------------------------------------------------------------------------------------- */

typedef struct lagvk_model lagvk_model;

/** Called while the weights upload; return non-zero to cancel the load (LAGVK_ERROR_CANCELLED). */
typedef int (*lagvk_progress_fn)(void* user_data, uint64_t bytes_done, uint64_t bytes_total);

typedef struct lagvk_model_params {
  int32_t device;             /**< device index; -1: the LAGVK_DEVICE environment variable, else the best */
  uint32_t context_tokens;    /**< tokens per sequence; 0: the model's, at most 4096 */
  uint32_t page_tokens;       /**< KV page size; a log store's page size must match (16) */
  uint32_t max_batch;         /**< prompt tokens per forward pass (256) */
  uint32_t n_parallel;        /**< generations that may run at once (1); each has a KV cache of
                                   context_tokens that it keeps for prefix reuse (see reuse_prefix) */
  lagvk_progress_fn progress; /**< may be NULL */
  void* progress_user_data;
} lagvk_model_params;

/** The defaults every lagvk entry point shares (the CLI's and the server's). */
LAGVK_API lagvk_model_params lagvk_model_params_default(void);

/** Opens a GGUF file, creates the Vulkan context on the chosen device and uploads the weights. */
LAGVK_API lagvk_status lagvk_model_load(const char* path, const lagvk_model_params* params,
                                        lagvk_model** out);
LAGVK_API void lagvk_model_free(lagvk_model* model);

typedef struct lagvk_model_info {
  const char* architecture; /**< "llama", "qwen2", ... */
  const char* name;         /**< general.name, or "" */
  const char* chat_format;  /**< the chat template family lagvk renders: "llama3", "chatml", "plain", ... */
  const char* device_name;
  uint32_t vocab_size, layers, embedding_size, heads, kv_heads, head_dim;
  uint32_t context_tokens;      /**< this model's context (as loaded) */
  uint32_t trained_context;     /**< the model file's context length */
  int32_t bos_token, eos_token; /**< -1 when the model has none */
  uint64_t weight_bytes;
  double load_ms;
} lagvk_model_info;

/** Valid until the model is freed. NULL only when model is NULL. */
LAGVK_API const lagvk_model_info* lagvk_model_get_info(const lagvk_model* model);

/* ---- tokens and chat templates --------------------------------------------------------------------- */

/** Tokenizes len bytes of UTF-8 text. add_bos: prepend BOS if the model asks for it (as lagvk run does);
 *  parse_special: text such as "<|im_start|>" becomes its special token (else it stays text).
 *  Writes at most capacity ids and sets *n_tokens to the number needed: LAGVK_ERROR_BUFFER_TOO_SMALL when
 *  that is more than capacity (tokens may be NULL when capacity is 0). */
LAGVK_API lagvk_status lagvk_tokenize(lagvk_model* model, const char* text, size_t len, int add_bos,
                                      int parse_special, int32_t* tokens, size_t capacity, size_t* n_tokens);

/** The UTF-8 text of n_tokens ids (special tokens as their text). Writes at most capacity bytes plus
 *  nothing else (no terminator is counted; one is written when there is room), sets *len to the bytes
 *  needed: LAGVK_ERROR_BUFFER_TOO_SMALL when that is more than capacity. */
LAGVK_API lagvk_status lagvk_detokenize(lagvk_model* model, const int32_t* tokens, size_t n_tokens,
                                        char* text, size_t capacity, size_t* len);

typedef struct lagvk_message {
  const char* role; /**< "system", "user", "assistant" or "tool" */
  const char* content;
} lagvk_message;

/** Renders messages with the model's chat template (lagvk_model_info.chat_format), ending where the
 *  assistant's answer begins when add_generation_prompt is non-zero. Same buffer contract as
 *  lagvk_detokenize. The text starts without BOS: tokenize it with add_bos and parse_special. */
LAGVK_API lagvk_status lagvk_chat_render(lagvk_model* model, const lagvk_message* messages, size_t n_messages,
                                         int add_generation_prompt, char* text, size_t capacity, size_t* len);

/* ---- generation ------------------------------------------------------------------------------------ */

/** Called with each generated token and the UTF-8 text it adds (len may be 0 inside a multi-byte
 *  character). Return non-zero to stop: the call then returns LAGVK_ERROR_CANCELLED. */
typedef int (*lagvk_token_fn)(void* user_data, int32_t token, const char* text, size_t len);

typedef struct lagvk_generate_params {
  uint32_t max_tokens;     /**< 128 */
  float temperature;       /**< <= 0: greedy (0.8, as llama.cpp) */
  int32_t top_k;           /**< <= 0: off (40) */
  float top_p;             /**< >= 1: off (0.95) */
  float min_p;             /**< <= 0: off (0.05) */
  float repeat_penalty;    /**< 1: off (1.0) */
  uint64_t seed;           /**< same seed, same tokens (0) */
  int ignore_eos;          /**< keep generating past end-of-generation tokens (0) */
  const char* const* stop; /**< n_stop strings; generation stops once the text ends with one (kept in it) */
  size_t n_stop;
  lagvk_token_fn on_token; /**< may be NULL */
  void* user_data;
  int reuse_prefix; /**< prefix reuse (0): the model keeps this call's cache (prompt and answer) and the next
                         call with reuse_prefix evaluates only the tokens past the longest prefix they share
                         (an agent's next step, a chat's next turn); completion info's cached_tokens counts
                         those reused. Any other call on the model drops what is kept. lagvk_generate,
                         lagvk_generate_tokens, lagvk_chat and lagvk_chat_ex; in lagvk_ask and
                         lagvk_ask_chat (params.generate) the kept context holds the logs too, and a next
                         ask with the same logs and mode continues it. With n_parallel > 1,
                         each of the n_parallel caches is kept, a call takes the free one sharing the
                         longest prefix (without reuse_prefix: the least recently used, emptied), and other
                         calls drop none of them */
} lagvk_generate_params;

LAGVK_API lagvk_generate_params lagvk_generate_params_default(void);

typedef enum lagvk_stop_reason {
  LAGVK_STOP_END_OF_GENERATION = 0, /**< the model produced an end-of-generation token */
  LAGVK_STOP_MAX_TOKENS = 1,
  LAGVK_STOP_CONTEXT_FULL = 2,
  LAGVK_STOP_STOP_STRING = 3,
  LAGVK_STOP_REASON_MAX_ENUM = 0x7fffffff
} lagvk_stop_reason;

/** A log as retrieved (score) and as placed in a context (tokens, first_position: 0 when not placed). */
typedef struct lagvk_log_ref {
  uint64_t id;
  double score;
  const char* task;
  uint32_t tokens;
  int32_t first_position;
} lagvk_log_ref;

/** A retrieved log left out of the context: damaged, or too long for it. */
typedef struct lagvk_skipped_log {
  uint64_t id;
  const char* reason;
} lagvk_skipped_log;

typedef struct lagvk_completion_info {
  const char* text; /**< NUL-terminated; text_len bytes */
  size_t text_len;
  const int32_t* tokens; /**< the generated ids (prompt excluded) */
  size_t n_tokens;
  lagvk_stop_reason stop_reason;
  uint32_t prompt_tokens;
  double time_to_first_token_ms; /**< from the call to the first generated token, logs included */
  double prefill_ms, decode_ms, decode_tokens_per_s;
  /* LAG (lagvk_ask only; empty otherwise) */
  const lagvk_log_ref* logs; /**< the logs placed in the context, in context order */
  size_t n_logs;
  const lagvk_skipped_log* skipped;
  size_t n_skipped;
  double logs_ms; /**< time to place the logs (splice or prefill) */
  int has_saved_log;
  uint64_t saved_log;     /**< the new log's id when the task was saved */
  uint32_t cached_tokens; /**< of prompt_tokens: reused from the model's kept cache (reuse_prefix), not
                             evaluated */
  uint32_t latents;  /**< cache augmentation (lagvk_ask, lagvk_ask_chat with a coprocessor): latents appended
                          after the logs and the prompt (0: none, also when they did not fit the context) */
  double augment_ms; /**< the coprocessor's pass and the model's over the latents (counted in
                          time_to_first_token_ms) */
} lagvk_completion_info;

typedef struct lagvk_completion lagvk_completion;

/** Tokenizes prompt (BOS as the model asks, special tokens not parsed) and generates. */
LAGVK_API lagvk_status lagvk_generate(lagvk_model* model, const char* prompt,
                                      const lagvk_generate_params* params, lagvk_completion** out);
/** Generates after exactly these prompt ids. */
LAGVK_API lagvk_status lagvk_generate_tokens(lagvk_model* model, const int32_t* prompt, size_t n_prompt,
                                             const lagvk_generate_params* params, lagvk_completion** out);
/** Renders messages with the chat template (message text cannot forge a turn) and generates the answer. */
LAGVK_API lagvk_status lagvk_chat(lagvk_model* model, const lagvk_message* messages, size_t n_messages,
                                  const lagvk_generate_params* params, lagvk_completion** out);
/** Asks the generations running on model (in other threads) to stop at their next token. Thread-safe;
 *  a no-op when nothing runs. Each call running then returns LAGVK_ERROR_CANCELLED; calls started
 *  afterwards are not affected. */
LAGVK_API void lagvk_cancel(lagvk_model* model);

/** Valid until the completion is freed. NULL only when completion is NULL. */
LAGVK_API const lagvk_completion_info* lagvk_completion_get(const lagvk_completion* completion);
LAGVK_API void lagvk_completion_free(lagvk_completion* completion);

/* ---- chats with tools ------------------------------------------------------------------------------ */

/** A chat message as OpenAI's API carries it, tool calls and results included. */
typedef struct lagvk_chat_message {
  const char* role;            /**< "system", "user", "assistant" or "tool" */
  const char* content;         /**< NULL is "" (an assistant message that only calls tools) */
  const char* tool_calls_json; /**< an assistant's calls as OpenAI's tool_calls array, [{"id": "..", "type":
                                    "function", "function": {"name": "..", "arguments": "{...}"}}] (arguments
                                    as JSON text or as an object); NULL: none */
  const char* tool_call_id;    /**< a tool message: the id of the call it answers; NULL: none */
} lagvk_chat_message;

typedef struct lagvk_chat_params {
  const char* tools_json;       /**< OpenAI's "tools" array, [{"type": "function", "function": {"name": ..,
                                     "description": .., "parameters": {JSON schema}}}]; NULL: no tools.
                                     Rendered in the model's tool format (docs/API.md); a chat format
                                     without one (lagvk_model_info.chat_format other than llama31, chatml,
                                     qwen3, plain) is LAGVK_ERROR_INVALID_ARGUMENT */
  const char* assistant_prefix; /**< text the answer is made to begin with, after the generation prompt
                                     (template markup allowed), e.g. the opening of a tool call; it counts
                                     as prompt and is not in the completion's text. NULL: none */
  int add_generation_prompt;    /**< end where the assistant's answer begins (1) */
} lagvk_chat_params;

LAGVK_API lagvk_chat_params lagvk_chat_params_default(void);

/** Renders messages and tools with the model's chat template; buffer contract as lagvk_detokenize. */
LAGVK_API lagvk_status lagvk_chat_render_ex(lagvk_model* model, const lagvk_chat_message* messages,
                                            size_t n_messages, const lagvk_chat_params* params, char* text,
                                            size_t capacity, size_t* len);
/** The exact prompt ids lagvk_chat_ex generates after (BOS as the model asks; the template's markup as
 * special tokens, message text as text); buffer contract as lagvk_tokenize. */
LAGVK_API lagvk_status lagvk_chat_tokenize_ex(lagvk_model* model, const lagvk_chat_message* messages,
                                              size_t n_messages, const lagvk_chat_params* params,
                                              int32_t* tokens, size_t capacity, size_t* n_tokens);
/** lagvk_chat with tools, tool calls and results, and an assistant prefix. The generated text is returned as
 *  is: parsing it into tool calls is the caller's (lagvk serve does it, docs/SERVER.md). */
LAGVK_API lagvk_status lagvk_chat_ex(lagvk_model* model, const lagvk_chat_message* messages,
                                     size_t n_messages, const lagvk_chat_params* params,
                                     const lagvk_generate_params* generate, lagvk_completion** out);

/* ---- embeddings ------------------------------------------------------------------------------------ */

/** A dense vector for text: the mean of the model's final normalised hidden states (the vector dense
 *  retrieval uses without an embed_model), or the last token's when the file's pooling_type says last (a
 *  decoder embedding model such as Qwen3-Embedding); for an encoder embedding model (arch bert, which loads
 *  but cannot generate) its sentence vector, pooled over [CLS] text [SEP] as the file's pooling_type says.
 * Not scaled to unit length. Writes lagvk_model_info.embedding_size floats: *dim is set to that, and
 * LAGVK_ERROR_BUFFER_TOO_SMALL is returned when capacity is less. */
LAGVK_API lagvk_status lagvk_embed(lagvk_model* model, const char* text, size_t len, float* vector,
                                   size_t capacity, size_t* dim);

/* ---- cache augmentation: coprocessors -------------------------------------------------------------- */

/** A cache-augmentation coprocessor (Liu et al., arXiv 2412.17747) loaded beside a model: a GGUF of the
 *  model's architecture, trained for exactly that model, that reads the model's KV cache and appends latent
 *  embeddings to it (their keys and values), which the model, unchanged, then attends to. `lagvk
 *  coprocessor make` writes an untrained one; tools/train trains one. Given to lagvk_ask, lagvk_ask_chat and
 *  lagvk_react (the answer is augmented after its logs and prompt) and to lagvk_store_augment_log (a log
 *  keeps latents after its tokens, which every KV-mode answer that places it splices). A NULL coprocessor
 *  changes nothing. It runs on its model's device under the model's lock, and holds its model as a store
 *  does (freed last, whichever order). */
typedef struct lagvk_coprocessor lagvk_coprocessor;

/** Loads the coprocessor file at path for model. LAGVK_ERROR_STORE_MODEL_MISMATCH when it was trained for
 *  another model's weights (the status of a store made with another model); LAGVK_ERROR_BAD_MODEL_FILE when
 *  the file is not a coprocessor or has another architecture than model; LAGVK_ERROR_FILE_NOT_FOUND;
 *  LAGVK_ERROR_UNSUPPORTED_MODEL for an embedding model (a coprocessor augments a decoder). */
LAGVK_API lagvk_status lagvk_coprocessor_load(lagvk_model* model, const char* path, lagvk_coprocessor** out);
LAGVK_API void lagvk_coprocessor_free(lagvk_coprocessor* coprocessor);
/** The latents one full augmentation appends (the soft tokens it was trained with); 0 for a NULL or dead
 *  handle. A call's `latents` of 0 means all of them, N <= this the first N. */
LAGVK_API uint32_t lagvk_coprocessor_latents(const lagvk_coprocessor* coprocessor);
/** LAGVK_OK when a call may ask the coprocessor for `latents` (0: all; else at most its soft tokens), the
 *  check every call taking a coprocessor makes; LAGVK_ERROR_INVALID_ARGUMENT, with a message naming both
 *  counts and the file, when it has fewer or the handle is not a live coprocessor. */
LAGVK_API lagvk_status lagvk_coprocessor_check_latents(const lagvk_coprocessor* coprocessor, uint32_t latents);
/** The most soft tokens a coprocessor file may have (a larger count is LAGVK_ERROR_BAD_MODEL_FILE). */
#define LAGVK_MAX_LATENTS 4096

/** Where an agent's turns are augmented. */
typedef enum lagvk_augment_at {
  LAGVK_AUGMENT_EACH_STEP = 0, /**< after every step's prompt */
  LAGVK_AUGMENT_PROMPT = 1,    /**< after the question's prompt only (the first step) */
  LAGVK_AUGMENT_AT_MAX_ENUM = 0x7fffffff
} lagvk_augment_at;

/* ---- Log-Augmented Generation: stores of logs -------------------------------------------------------- */

typedef struct lagvk_store lagvk_store;

typedef enum lagvk_page_codec {
  LAGVK_CODEC_F16 = 0,  /**< pages as the device holds them */
  LAGVK_CODEC_Q8_0 = 1, /**< 8-bit blocks: 34 bytes per 32 values instead of 64 */
  LAGVK_CODEC_MAX_ENUM = 0x7fffffff
} lagvk_page_codec;

/** What retrieval (BM25 and dense) indexes of each log: a store's choice, made when it is created. */
typedef enum lagvk_index_text {
  LAGVK_INDEX_TASK = 0,              /**< the task (its question) */
  LAGVK_INDEX_TASK_AND_RESPONSE = 1, /**< the task and its last response (the LAG paper's choice) */
  LAGVK_INDEX_MAX_ENUM = 0x7fffffff
} lagvk_index_text;

typedef struct lagvk_store_params {
  int create;    /**< create the store when the directory is missing or empty (0) */
  int read_only; /**< open for reading only: adding or saving logs is then LAGVK_ERROR_INVALID_ARGUMENT (0) */
  lagvk_page_codec codec; /**< for a new store; an existing store keeps its own (F16) */
  /** The embedding model that makes the store's dense vectors, of the logs and of the queries, scaled to
   *  unit length: a model loaded with lagvk_model_load (arch bert such as all-MiniLM-L6-v2, or a decoder
   *  embedding model with pooling_type last such as Qwen3-Embedding), not the store's model itself. NULL:
   *  the model's own lagvk_embed vectors. The store records which embedder made its vectors and refuses
   *  another (LAGVK_ERROR_STORE_MODEL_MISMATCH, here or when adding or retrieving); a store with vectors
   *  gives every new log one. The store keeps it loaded until closed, and its calls take its lock too. */
  lagvk_model* embed_model;
  lagvk_index_text index_text; /**< for a new store; an existing store keeps its own (TASK) */
} lagvk_store_params;

LAGVK_API lagvk_store_params lagvk_store_params_default(void);

/** Opens the store in directory dir for model: LAGVK_ERROR_STORE_MODEL_MISMATCH when it was made with
 *  different weights, tokenizer, KV layout or rotary embedding (its pages would be meaningless), or when
 *  params->embed_model is not the embedder that made its dense vectors. */
LAGVK_API lagvk_status lagvk_store_open(lagvk_model* model, const char* dir, const lagvk_store_params* params,
                                        lagvk_store** out);
LAGVK_API void lagvk_store_close(lagvk_store* store);

typedef enum lagvk_selection {
  LAGVK_SELECT_LAST = 0,   /**< the last assistant response (LAG's default) */
  LAGVK_SELECT_ALL = 1,    /**< every assistant response */
  LAGVK_SELECT_ANSWER = 2, /**< after the last "Answer:" in the last response */
  LAGVK_SELECT_FULL = 3,   /**< every token of the trace */
  LAGVK_SELECT_MAX_ENUM = 0x7fffffff
} lagvk_selection;

/** Runs a finished task through the model and stores the selected tokens' KV as a new log. trace_json is
 *  one trace object: {"task": "...", "messages": [{"role": "user", "content": "..."}, ...], "tags": [...]}.
 *  embed: also store the task's dense vector (for LAGVK_RETRIEVE_DENSE; always done when the store has
 *  an embed_model or already holds vectors). Sets *id to the new log's id. */
LAGVK_API lagvk_status lagvk_store_add_trace(lagvk_store* store, const char* trace_json, size_t len,
                                             lagvk_selection selection, int embed, uint64_t* id);

/** lagvk_store_add_trace's settings, with cache augmentation. */
typedef struct lagvk_add_trace_params {
  lagvk_selection selection; /**< the tokens the log keeps (LAST) */
  int embed;                 /**< also store the task's dense vector (0; see lagvk_store_add_trace) */
  const lagvk_coprocessor* coprocessor; /**< cache augmentation (NULL: none): the coprocessor's latents,
                                             computed after the whole trace, are kept after the selected
                                             tokens; loaded for the store's model */
  uint32_t latents;                     /**< the coprocessor's first N soft tokens; 0: all of them (more, or
                                             latents without a coprocessor: INVALID_ARGUMENT) */
} lagvk_add_trace_params;

LAGVK_API lagvk_add_trace_params lagvk_add_trace_params_default(void);

/** lagvk_store_add_trace with params (NULL: the defaults): with a coprocessor the log is encoded with its
 *  latents and written once, as `lagvk log add --coprocessor` writes it (never stored unaugmented first).
 *  LAGVK_ERROR_CONTEXT_FULL when the trace and latents do not fit the model's context (nothing is
 *  stored). */
LAGVK_API lagvk_status lagvk_store_add_trace_ex(lagvk_store* store, const char* trace_json, size_t len,
                                                const lagvk_add_trace_params* params, uint64_t* id);
/** Logs in the store (damaged ones included). */
LAGVK_API lagvk_status lagvk_store_count(lagvk_store* store, uint64_t* logs);

typedef enum lagvk_retrieval {
  LAGVK_RETRIEVE_BM25 = 0,  /**< lexical: BM25 over the logs' tasks */
  LAGVK_RETRIEVE_DENSE = 1, /**< cosine between the vectors of the store's embedder (its embed_model, else
                              lagvk_embed's; logs added without a vector are not found).
                              LAGVK_ERROR_INVALID_ARGUMENT when no log in the store has one. */
  LAGVK_RETRIEVE_MAX_ENUM = 0x7fffffff
} lagvk_retrieval;

typedef struct lagvk_retrieve_params {
  uint32_t k; /**< logs to retrieve (3) */
  lagvk_retrieval retrieval;
  const char* tag; /**< only logs with this tag; NULL: all */
} lagvk_retrieve_params;

LAGVK_API lagvk_retrieve_params lagvk_retrieve_params_default(void);

typedef struct lagvk_log_list lagvk_log_list;

/** The k best logs for query, best first (tokens and first_position are 0). */
LAGVK_API lagvk_status lagvk_store_retrieve(lagvk_store* store, const char* query,
                                            const lagvk_retrieve_params* params, lagvk_log_list** out);
LAGVK_API size_t lagvk_log_list_size(const lagvk_log_list* list);
/** NULL when i is out of range. */
LAGVK_API const lagvk_log_ref* lagvk_log_list_get(const lagvk_log_list* list, size_t i);
LAGVK_API void lagvk_log_list_free(lagvk_log_list* list);

typedef enum lagvk_log_mode {
  LAGVK_LOGS_KV = 0,   /**< LAG: splice the logs' stored KV, keys re-rotated to their new positions */
  LAGVK_LOGS_TEXT = 1, /**< baseline: prefill the logs' selected tokens as text */
  LAGVK_LOGS_NONE = 2, /**< no logs */
  LAGVK_LOGS_MAX_ENUM = 0x7fffffff
} lagvk_log_mode;

/** Called with the finished answer's text before it is saved; return non-zero to save it. */
typedef int (*lagvk_save_filter_fn)(void* user_data, const char* answer, size_t len);

typedef struct lagvk_ask_params {
  lagvk_log_mode mode;
  lagvk_retrieve_params retrieve;
  const uint64_t* log_ids; /**< use exactly these logs, in this order, instead of retrieving (NULL: retrieve);
                               an id not in the store is LAGVK_ERROR_NOT_FOUND (a damaged log is skipped) */
  size_t n_log_ids;
  int save;                       /**< store the finished task (question and answer) as a new log, with its
                                       dense vector when the store has dense retrieval (0) */
  lagvk_selection selection;      /**< the tokens save keeps (LAST: captured from the live cache) */
  lagvk_generate_params generate; /**< greedy by default: answers are reproducible */
  const char* const* save_tags;   /**< tags a saved log carries besides retrieve.tag (NULL: none) */
  size_t n_save_tags;
  lagvk_save_filter_fn save_filter; /**< with save: decides from the answer whether the task is saved (for
                                         example not when the answer calls a tool: the task goes on); NULL:
                                         always saved */
  void* save_filter_data;
  /** Cache augmentation of the answer: the coprocessor's latents follow the logs and the prompt before the
   *  first token (NULL: none, the answer is exactly as without the field). Loaded for the store's model
   *  (else LAGVK_ERROR_INVALID_ARGUMENT). Latents that do not fit the context beside the answer are left
   *  out (lagvk_completion_info.latents says 0). An augmented answer does not continue or keep a context
   *  for reuse_prefix; a saved task is encoded from its trace without latents (lagvk_store_augment_log
   *  augments it). */
  const lagvk_coprocessor* coprocessor;
  uint32_t latents; /**< the coprocessor's first N soft tokens; 0: all of them (more: INVALID_ARGUMENT) */
} lagvk_ask_params;

LAGVK_API lagvk_ask_params lagvk_ask_params_default(void);

/** Answers question with logs from store: retrieves them (or takes log_ids), places them in front of the
 *  question as mode says, generates, and with save stores the finished task as a new log. Damaged or
 *  too-long logs are skipped and listed in lagvk_completion_info.skipped, not errors. */
LAGVK_API lagvk_status lagvk_ask(lagvk_store* store, const char* question, const lagvk_ask_params* params,
                                 lagvk_completion** out);

/** Answers a chat (messages with tools, tool calls and results, rendered as lagvk_chat_ex renders them) with
 *  logs from store, as lagvk_ask answers a question: the logs (params->log_ids, else retrieved with the
 *  first user message) are placed in front of the chat, which then goes without BOS; with save the
 *  finished chat (its messages and the answer; tool calls kept as JSON after an assistant's text) becomes a
 *  new log whose task is the first user message. An agent calls it once per step with the transcript so
 *  far, passing the logs it has gathered as log_ids. */
LAGVK_API lagvk_status lagvk_ask_chat(lagvk_store* store, const lagvk_chat_message* messages,
                                      size_t n_messages, const lagvk_chat_params* chat,
                                      const lagvk_ask_params* params, lagvk_completion** out);

/* ---- the general ReAct agent ----------------------------------------------------------------------- */

/** lagvk_react's settings (docs/LAG.md, "The general ReAct agent"). */
typedef struct lagvk_react_params {
  lagvk_log_mode mode;            /**< how the logs each step retrieves are placed (KV) */
  lagvk_retrieve_params retrieve; /**< k logs per query: the question, then each step's query (3) */
  uint32_t max_logs;              /**< at most this many logs in the context (0: no limit) */
  uint32_t max_steps;             /**< step limit (8, the LAG paper's for multi-hop QA) */
  uint32_t max_step_tokens;       /**< tokens one step may generate (160) */
  const char* docs_path;          /**< JSON Lines passages ({"id", "title", "text"}) for the built-in
                                       search tool (BM25); NULL: no search tool */
  const char* const* tools;       /**< external tools as "NAME=COMMAND" (JSON on stdin and stdout) */
  size_t n_tools;
  uint32_t tool_timeout_ms;             /**< an external tool call is killed after this (10000) */
  int save;                             /**< store the finished task as a new log when it was answered (0) */
  lagvk_selection selection;            /**< the tokens save keeps (LAST) */
  const lagvk_coprocessor* coprocessor; /**< cache augmentation of the agent's turns (NULL: none), loaded
                                             for the store's model */
  uint32_t latents;                     /**< the coprocessor's first N soft tokens; 0: all of them */
  lagvk_augment_at augment_at;          /**< which turns are augmented (EACH_STEP) */
} lagvk_react_params;

LAGVK_API lagvk_react_params lagvk_react_params_default(void);

/** Runs the ReAct agent on question with the store's model and logs, as `lagvk ask --react` does.
 * *result_json receives {"answer": string or null, "steps": [{"output", "action", "input", "observation"}],
 * "logs":
 *  [{"id", "task", "score"}], "saved_log": id or null, "latents": the coprocessor's latents appended over
 *  all turns}; free it with lagvk_string_free. A tool that fails
 *  is an observation, not an error; a bad tool spec or no tool at all is LAGVK_ERROR_INVALID_ARGUMENT, a
 *  missing docs_path LAGVK_ERROR_FILE_NOT_FOUND, a malformed one LAGVK_ERROR_BAD_INPUT. */
LAGVK_API lagvk_status lagvk_react(lagvk_store* store, const char* question, const lagvk_react_params* params,
                                   char** result_json);
/** Frees a string lagvk_react returned (NULL is fine). */
LAGVK_API void lagvk_string_free(char* text);

/** The ids of the store's logs, ascending (damaged ones included). Writes at most capacity ids and sets *n
 *  to the number there are: LAGVK_ERROR_BUFFER_TOO_SMALL when that is more than capacity. */
LAGVK_API lagvk_status lagvk_store_log_ids(lagvk_store* store, uint64_t* ids, size_t capacity, size_t* n);
/** One log's record as JSON text: {"id", "task", "retrieval_text", "selection", "trace", "token_ids",
 *  "positions", "tags", "created"}, with the caller-buffer contract of lagvk_chat_render.
 *  LAGVK_ERROR_NOT_FOUND when there is no such log; LAGVK_ERROR_STORE when its record is damaged. */
LAGVK_API lagvk_status lagvk_store_log_json(lagvk_store* store, uint64_t id, char* text, size_t capacity,
                                            size_t* len);
/** Removes a log (its record, pages and vector, in one transaction). LAGVK_ERROR_NOT_FOUND when there is
 *  no such log. */
LAGVK_API lagvk_status lagvk_store_remove(lagvk_store* store, uint64_t id);

/** Cache augmentation of a stored log, in place (as `lagvk log augment`): the log is encoded again from
 *  the trace and selection its record keeps, the coprocessor's first `latents` soft tokens (0: all)
 *  appended after the whole trace, and its record and pages replaced in one transaction by the tokens'
 *  KV then the latents' (what lagvk_store_add_trace followed by this stores is what `lagvk log add
 *  --coprocessor` stores). It keeps its id, task, tags, creation time, retrieval text and dense vector. A
 *  log that already has latents is left as it is unless replace is non-zero. *log_latents (may be NULL)
 *  receives the log's latents afterwards. LAGVK_ERROR_NOT_FOUND when there is no such log;
 *  LAGVK_ERROR_BAD_INPUT when its record keeps no usable trace; LAGVK_ERROR_CONTEXT_FULL when the trace
 *  and latents do not fit the model's context; LAGVK_ERROR_STORE for a damaged record, a failed write, or
 *  a log another writer replaced between this call's read and its write ("the log changed meanwhile"; the
 *  log is then as that writer left it); LAGVK_ERROR_INVALID_ARGUMENT for a coprocessor of another model
 *  handle. */
LAGVK_API lagvk_status lagvk_store_augment_log(lagvk_store* store, uint64_t id,
                                               const lagvk_coprocessor* coprocessor, uint32_t latents,
                                               int replace, uint32_t* log_latents);

#ifdef __cplusplus
}
#endif

#endif /* LAGVK_H */
