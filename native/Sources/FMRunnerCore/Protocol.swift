/// pipeline-gen/1 shapes (native/protocol/pipeline-gen-1.schema.json is the source of truth).
public let protocolName = "pipeline-gen/1"

/// The protocol's error vocabulary.
public enum ErrorCode: String, Sendable, CaseIterable {
    case badRequest = "bad_request"
    case unknownOp = "unknown_op"
    case unsupportedSchema = "unsupported_schema"
    case adapterNotFound = "adapter_not_found"
    case adapterInvalid = "adapter_invalid"
    /// The request names an adapter but this backend (OS, model) cannot load adapters at all.
    case adapterUnsupported = "adapter_unsupported"
    case modelUnavailable = "model_unavailable"
    case modelHashMismatch = "model_hash_mismatch"
    case contextOverflow = "context_overflow"
    case guardrail
    case refusal
    case decodingFailure = "decoding_failure"
    case rateLimited = "rate_limited"
    case timeout
    case unsupportedLanguage = "unsupported_language"
    case `internal`
}

/// A protocol error: what a backend throws and what a response carries.
public struct RunnerError: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String
    public var retryable: Bool

    public init(_ code: ErrorCode, _ message: String, retryable: Bool = false) {
        self.code = code
        self.message = message
        self.retryable = retryable
    }

    public var description: String { "\(code.rawValue): \(message)" }

    var json: JSONValue {
        ["code": .string(code.rawValue), "message": .string(message), "retryable": .bool(retryable)]
    }
}

public enum Op: String, Sendable, CaseIterable {
    case probe, generate, shutdown
}

public struct Sampling: Equatable, Sendable {
    public enum Mode: String, Sendable { case greedy, random }
    public var mode: Mode
    public var temperature: Double?
    public var topK: Int?
    public var topP: Double?
    public var seed: UInt64?

    public init(mode: Mode, temperature: Double? = nil, topK: Int? = nil, topP: Double? = nil, seed: UInt64? = nil) {
        self.mode = mode
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.seed = seed
    }

    public static let greedy = Sampling(mode: .greedy)
}

public struct AdapterRef: Equatable, Sendable {
    public enum Format: String, Sendable { case ggufLora = "gguf-lora", fmadapter }
    public var path: String
    public var format: Format
    /// The adapter's content digest (see `AdapterDigest`), when the caller knows it: the cache key.
    public var sha256: String?

    public init(path: String, format: Format, sha256: String? = nil) {
        self.path = path
        self.format = format
        self.sha256 = sha256
    }
}

public struct OutputSpec: Equatable, Sendable {
    public enum Kind: String, Sendable { case text, jsonSchema = "json_schema" }
    public var kind: Kind
    public var schema: JSONObject?

    public init(kind: Kind, schema: JSONObject? = nil) {
        self.kind = kind
        self.schema = schema
    }
}

public struct Request: Equatable, Sendable {
    public var id: String
    public var op: Op
    public var instructions: String?
    public var prompt: String?
    public var sampling: Sampling?
    public var maxOutputTokens: Int?
    public var adapter: AdapterRef?
    public var output: OutputSpec?
    public var timeoutS: Double?

    public init(id: String, op: Op, instructions: String? = nil, prompt: String? = nil, sampling: Sampling? = nil,
                maxOutputTokens: Int? = nil, adapter: AdapterRef? = nil, output: OutputSpec? = nil,
                timeoutS: Double? = nil) {
        self.id = id
        self.op = op
        self.instructions = instructions
        self.prompt = prompt
        self.sampling = sampling
        self.maxOutputTokens = maxOutputTokens
        self.adapter = adapter
        self.output = output
        self.timeoutS = timeoutS
    }

    /// Sampling as used: a request without one is greedy.
    public var effectiveSampling: Sampling { sampling ?? .greedy }
    /// The JSON schema when the request asks for schema-guided output.
    public var jsonSchema: JSONObject? { output?.kind == .jsonSchema ? output?.schema : nil }
}

public struct Usage: Equatable, Sendable {
    public var inputTokens: Int?
    public var outputTokens: Int?

    public init(inputTokens: Int?, outputTokens: Int?) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
    }
}

/// Who answered: identity, versions and availability. Unknown figures are nil (null on the wire).
public struct BackendInfo: Equatable, Sendable {
    public var name: String
    public var model: String?
    public var modelVersion: String?
    public var osBuild: String?
    public var adapterSignature: String?
    public var available: Bool?
    public var reason: String?
    /// The model variant the OS names (macOS 27: `SystemLanguageModel.Variant.displayName`, e.g. "AFM 3 Core").
    public var modelVariant: String?
    /// The base model's signature where the OS gives one (see native/README.md).
    public var baseModelSignature: String?
    /// The model's context window in tokens (macOS 26.4+: `SystemLanguageModel.contextSize`).
    public var contextTokens: Int?
    /// Whether this backend can load adapters here; nil when unknown.
    public var adaptersSupported: Bool?
    /// Adapters loaded by this runner process so far.
    public var adapterLoads: Int?
    /// The schema dialect's name (an entry of protocol/schema-dialects.json); nil when unknown.
    public var dialect: String?

    public init(name: String, model: String?, modelVersion: String?, osBuild: String?,
                adapterSignature: String? = nil, available: Bool?, reason: String? = nil,
                modelVariant: String? = nil, baseModelSignature: String? = nil, contextTokens: Int? = nil,
                adaptersSupported: Bool? = nil, adapterLoads: Int? = nil, dialect: String? = nil) {
        self.name = name
        self.model = model
        self.modelVersion = modelVersion
        self.osBuild = osBuild
        self.adapterSignature = adapterSignature
        self.available = available
        self.reason = reason
        self.modelVariant = modelVariant
        self.baseModelSignature = baseModelSignature
        self.contextTokens = contextTokens
        self.adaptersSupported = adaptersSupported
        self.adapterLoads = adapterLoads
        self.dialect = dialect
    }

    var json: JSONValue {
        [
            "name": .string(name), "model": model.json, "model_version": modelVersion.json,
            "os_build": osBuild.json, "adapter_signature": adapterSignature.json,
            "available": available.map(JSONValue.bool) ?? .null, "reason": reason.json,
            "model_variant": modelVariant.json, "base_model_signature": baseModelSignature.json,
            "context_tokens": contextTokens.map { .int(Int64($0)) } ?? .null,
            "adapters_supported": adaptersSupported.map(JSONValue.bool) ?? .null,
            "adapter_loads": adapterLoads.map { .int(Int64($0)) } ?? .null,
            "dialect": dialect.json,
        ]
    }
}

/// One response line. Every key is always present.
public struct Response: Equatable, Sendable {
    public var id: String?
    public var ok: Bool
    public var text: String?
    public var json: JSONValue
    public var usage: Usage?
    public var latencyMs: Double?
    public var backend: BackendInfo
    public var error: RunnerError?

    public init(id: String?, ok: Bool, text: String? = nil, json: JSONValue = .null, usage: Usage? = nil,
                latencyMs: Double? = nil, backend: BackendInfo, error: RunnerError? = nil) {
        self.id = id
        self.ok = ok
        self.text = text
        self.json = json
        self.usage = usage
        self.latencyMs = latencyMs
        self.backend = backend
        self.error = error
    }

    public static func failure(_ id: String?, _ error: RunnerError, backend: BackendInfo,
                               latencyMs: Double? = nil) -> Response {
        Response(id: id, ok: false, latencyMs: latencyMs, backend: backend, error: error)
    }

    public var jsonValue: JSONValue {
        let usageJSON: JSONValue = usage.map {
            ["input_tokens": $0.inputTokens.map { .int(Int64($0)) } ?? .null,
             "output_tokens": $0.outputTokens.map { .int(Int64($0)) } ?? .null]
        } ?? .null
        return [
            "id": id.json, "ok": .bool(ok), "text": text.json, "json": json, "usage": usageJSON,
            "timing": ["latency_ms": latencyMs.map(JSONValue.double) ?? .null],
            "backend": backend.json, "error": error?.json ?? .null,
        ]
    }

    /// The response as one line of compact JSON (no trailing newline).
    public var line: String { JSONWriter.write(jsonValue) }
}
