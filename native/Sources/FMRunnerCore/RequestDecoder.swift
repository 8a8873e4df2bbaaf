/// Decodes and validates one request line against pipeline-gen/1.
///
/// Order of checks (the same as the Python runners' serve loop): not JSON or not an object ->
/// bad_request with id null; an op that is missing or not one of probe/generate/shutdown -> unknown_op;
/// any other violation of the schema -> bad_request. The id is echoed whenever it could be read.
/// Beyond the schema: a generate needs a prompt, a json_schema output needs a schema, and top_k and
/// top_p are mutually exclusive (FoundationModels samples with one or the other).
public struct DecodeFailure: Error, Equatable, Sendable {
    public var id: String?
    public var error: RunnerError
}

public enum RequestDecoder {
    static let requestKeys: Set<String> = [
        "id", "op", "instructions", "prompt", "sampling", "max_output_tokens", "adapter", "output", "timeout_s",
    ]

    public static func decode(_ line: String) -> Result<Request, DecodeFailure> {
        let parsed: JSONValue
        do {
            parsed = try JSONParser.parse(line)
        } catch {
            return .failure(DecodeFailure(id: nil, error: RunnerError(.badRequest, "request line is not JSON: \(error)")))
        }
        guard let object = parsed.objectValue else {
            return .failure(DecodeFailure(id: nil, error: RunnerError(
                .badRequest, "request must be a JSON object, got \(parsed.typeName)")))
        }
        return decode(object)
    }

    public static func decode(_ object: JSONObject) -> Result<Request, DecodeFailure> {
        let id = object["id"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        let opNames = Op.allCases.map(\.rawValue).joined(separator: ", ")
        guard let opValue = object["op"], !opValue.isNull else {
            return .failure(DecodeFailure(id: id, error: RunnerError(
                .unknownOp, "request has no op; this runner answers \(opNames)")))
        }
        guard let opName = opValue.stringValue, let op = Op(rawValue: opName) else {
            return .failure(DecodeFailure(id: id, error: RunnerError(
                .unknownOp, "unknown op \(opValue.jsonText); this runner answers \(opNames)")))
        }
        do throws(RunnerError) {
            guard let id else { throw bad("id must be a non-empty string") }
            if let extra = object.keys.first(where: { !requestKeys.contains($0) }) {
                throw bad("unknown field '\(extra)'")
            }
            var request = Request(id: id, op: op)
            request.instructions = try optionalString(object, "instructions")
            request.prompt = try optionalString(object, "prompt")
            if let value = nonNull(object["sampling"]) { request.sampling = try sampling(value) }
            request.maxOutputTokens = try optionalInt(object["max_output_tokens"], "max_output_tokens", min: 1)
            if let value = nonNull(object["adapter"]) { request.adapter = try adapter(value) }
            if let value = nonNull(object["output"]) { request.output = try output(value) }
            if let t = nonNull(object["timeout_s"]) {
                guard let s = t.numberValue, s > 0 else { throw bad("timeout_s must be a number > 0") }
                request.timeoutS = s
            }
            if op == .generate && request.prompt == nil { throw bad("generate needs a prompt (string)") }
            return .success(request)
        } catch {
            return .failure(DecodeFailure(id: id, error: error))
        }
    }

    static func bad(_ message: String) -> RunnerError { RunnerError(.badRequest, message) }

    static func nonNull(_ value: JSONValue?) -> JSONValue? {
        guard let value, !value.isNull else { return nil }
        return value
    }

    static func optionalString(_ object: JSONObject, _ key: String) throws(RunnerError) -> String? {
        guard let value = nonNull(object[key]) else { return nil }
        guard let s = value.stringValue else { throw bad("\(key) must be a string or null, got \(value.typeName)") }
        return s
    }

    static func optionalInt(_ value: JSONValue?, _ key: String, min: Int64) throws(RunnerError) -> Int? {
        guard let value = nonNull(value) else { return nil }
        guard let i = value.intValue, i >= min, i <= Int64(Int32.max) else {
            throw bad("\(key) must be an integer >= \(min), got \(value.jsonText)")
        }
        return Int(i)
    }

    static func fields(_ value: JSONValue, _ name: String, allowed: Set<String>) throws(RunnerError) -> JSONObject {
        guard let object = value.objectValue else { throw bad("\(name) must be an object or null, got \(value.typeName)") }
        if let extra = object.keys.first(where: { !allowed.contains($0) }) { throw bad("unknown field '\(name).\(extra)'") }
        return object
    }

    static func sampling(_ value: JSONValue) throws(RunnerError) -> Sampling {
        let object = try fields(value, "sampling", allowed: ["mode", "temperature", "top_k", "top_p", "seed"])
        guard let modeName = object["mode"]?.stringValue, let mode = Sampling.Mode(rawValue: modeName) else {
            throw bad("sampling.mode must be \"greedy\" or \"random\"")
        }
        var sampling = Sampling(mode: mode)
        if let t = nonNull(object["temperature"]) {
            guard let v = t.numberValue, v >= 0, v <= 2 else { throw bad("sampling.temperature must be a number in 0...2") }
            sampling.temperature = v
        }
        sampling.topK = try optionalInt(object["top_k"], "sampling.top_k", min: 1)
        if let p = nonNull(object["top_p"]) {
            guard let v = p.numberValue, v > 0, v <= 1 else { throw bad("sampling.top_p must be a number in (0, 1]") }
            sampling.topP = v
        }
        if let s = nonNull(object["seed"]) {
            guard let v = s.intValue, v >= 0 else { throw bad("sampling.seed must be an integer >= 0") }
            sampling.seed = UInt64(v)
        }
        if sampling.topK != nil && sampling.topP != nil {
            throw bad("sampling.top_k and sampling.top_p are mutually exclusive; give one")
        }
        return sampling
    }

    static func adapter(_ value: JSONValue) throws(RunnerError) -> AdapterRef {
        let object = try fields(value, "adapter", allowed: ["path", "format", "sha256"])
        guard let path = object["path"]?.stringValue, !path.isEmpty else {
            throw bad("adapter.path must be a non-empty string")
        }
        guard let name = object["format"]?.stringValue, let format = AdapterRef.Format(rawValue: name) else {
            throw bad("adapter.format must be \"fmadapter\" or \"gguf-lora\"")
        }
        var sha256: String?
        if let digest = nonNull(object["sha256"]) {
            guard let hex = digest.stringValue, hex.utf8.count == 64,
                  hex.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
                throw bad("adapter.sha256 must be 64 lowercase hex digits, got \(digest.jsonText)")
            }
            sha256 = hex
        }
        return AdapterRef(path: path, format: format, sha256: sha256)
    }

    static func output(_ value: JSONValue) throws(RunnerError) -> OutputSpec {
        let object = try fields(value, "output", allowed: ["kind", "schema"])
        guard let name = object["kind"]?.stringValue, let kind = OutputSpec.Kind(rawValue: name) else {
            throw bad("output.kind must be \"text\" or \"json_schema\"")
        }
        var spec = OutputSpec(kind: kind)
        if let schema = nonNull(object["schema"]) {
            guard let s = schema.objectValue else { throw bad("output.schema must be an object or null") }
            spec.schema = s
        }
        if kind == .jsonSchema && spec.schema == nil { throw bad("output.kind json_schema needs output.schema") }
        return spec
    }
}
