import FMRunnerCore
import Foundation

/// The schema the pipeline asks for: a title and exactly `count` questions.
func questionSchema(count: Int = 7) -> JSONObject {
    JSONObject([
        ("type", "object"),
        ("properties", [
            "title": ["type": "string"],
            "questions": ["type": "array", "items": ["type": "string"], "minItems": .int(Int64(count)),
                          "maxItems": .int(Int64(count))],
        ]),
        ("required", ["title", "questions"]),
        ("additionalProperties", false),
    ])
}

func generateRequest(_ prompt: String = "Task: plan a trip to Paris", schema: JSONObject? = questionSchema(),
                     sampling: Sampling? = nil, adapter: AdapterRef? = nil, id: String = "r1") -> Request {
    Request(id: id, op: .generate, prompt: prompt, sampling: sampling, adapter: adapter,
            output: schema.map { OutputSpec(kind: .jsonSchema, schema: $0) } ?? OutputSpec(kind: .text))
}

/// A temporary .fmadapter directory with the given metadata.json text (nil: no metadata file).
func makeAdapter(metadata: String?) throws -> String {
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("fm-runner-tests-\(UUID().uuidString).fmadapter")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    if let metadata { try Data(metadata.utf8).write(to: dir.appendingPathComponent("metadata.json")) }
    return dir.path
}

/// A temporary .fmadapter directory with metadata.json and adapter_weights.bin of the given contents.
func makeAdapter(signature: String = "9799725ff8e851184037110b422d891ad3b92ec1", weights: String) throws -> String {
    let path = try makeAdapter(metadata: #"{"adapterIdentifier":"fmadapter-x-9799725","baseModelSignature":"\#(signature)"}"#)
    try Data(weights.utf8).write(to: URL(fileURLWithPath: path).appendingPathComponent("adapter_weights.bin"))
    return path
}

/// The response line parsed back into an object.
func parsedLine(_ response: Response) throws -> JSONObject {
    guard let object = try JSONValue.parse(response.line).objectValue else { throw RunnerError(.internal, "not an object") }
    return object
}

let responseKeys: Set<String> = ["id", "ok", "text", "json", "usage", "timing", "backend", "error"]
let backendKeys: Set<String> = ["name", "model", "model_version", "os_build", "adapter_signature", "available", "reason",
                                 "model_variant", "base_model_signature", "context_tokens", "adapters_supported",
                                 "adapter_loads", "dialect"]

/// A backend whose generate throws a non-protocol error, for the `internal` mapping.
struct FailingBackend: GenerationBackend {
    struct Boom: Error {}
    func info() async -> BackendInfo {
        BackendInfo(name: "mock", model: "failing", modelVersion: nil, osBuild: nil, available: true)
    }
    func generate(_ request: Request) async throws -> Generation { throw Boom() }
}
