/// The deterministic mock backend (`--backend mock`): no model, same protocol.
///
/// - json_schema output: the schema must be in the mock dialect (`SchemaDialect.mock`, equal to Apple's) and
///   parse (`SchemaSubset`), else unsupported_schema; the answer is an object with every property, nested
///   objects, `$ref`s and `anyOf`s followed: a `title` derived from the prompt's last line, `questions`
///   (any array of strings) with exactly minItems when minItems == maxItems (else 7 clamped into the
///   bounds), distinct; slot strings `q1`..`qN` get distinct questions too; other fields get plain
///   deterministic values within their bounds/enums. `text` is that JSON.
/// - text output: a title line and 7 numbered questions, cut at max_output_tokens.
/// - greedy: a function of (instructions, prompt, adapter) only: question order and values come from a
///   generator seeded with their stable hash. random: that hash mixed with the seed (repeatable per seed);
///   without a seed, fresh randomness per call.
/// - Tokens are the mock's own (`MockText.tokenCount`), so usage counts are exact for this "model".
///   A json answer longer than max_output_tokens fails as decoding_failure (as a truncated real one would).
/// - An adapter must resolve (`AdapterResolver`); its signature (or path) changes the answer, and is
///   reported as backend.adapter_signature.
/// - `delayMs` sleeps before answering (cancellable, so timeout_s applies).
public struct MockBackend: GenerationBackend {
    public let delayMs: Int
    /// false stands in for an OS whose model cannot load adapters (macOS 27): adapter requests then get
    /// adapter_unsupported. `fm-runner` sets it from FM_RUNNER_MOCK_ADAPTERS=unsupported.
    public let adaptersSupported: Bool
    /// Resolved adapters by content digest, as the Apple backend keeps loaded ones (counts loads).
    let adapters = AdapterCache<ResolvedAdapter>(capacity: 8)
    public static let contextTokens = 4096

    public init(delayMs: Int = 0, adaptersSupported: Bool = true) {
        self.delayMs = max(0, delayMs)
        self.adaptersSupported = adaptersSupported
    }

    public func info() async -> BackendInfo {
        BackendInfo(name: "mock", model: "mock-fm", modelVersion: "1", osBuild: OSInfo.build, available: true,
                    modelVariant: "mock", contextTokens: Self.contextTokens, adaptersSupported: adaptersSupported,
                    adapterLoads: adapters.loads, dialect: SchemaDialect.mock.name)
    }

    public func generate(_ request: Request) async throws -> Generation {
        let adapter = try request.adapter.map { (ref) throws(RunnerError) in
            let resolved = try AdapterResolver.resolve(ref)
            return adapters.value(for: resolved.cacheKey) { resolved }
        }
        let schema = try request.jsonSchema.map { (s) throws(RunnerError) in try SchemaSubset.parse(s) }
        if delayMs > 0 { try await Task.sleep(nanoseconds: UInt64(delayMs) * 1_000_000) }

        let prompt = request.prompt ?? ""
        let base = stableHash([request.instructions ?? "", prompt, adapter?.signature ?? adapter?.path ?? ""]
            .joined(separator: "\u{1F}"))
        let sampling = request.effectiveSampling
        var rng: SplitMix64?  // always set; optional only to share MockText.questions' signature
        switch (sampling.mode, sampling.seed) {
        case (.greedy, _): rng = SplitMix64(seed: base)
        case (.random, let seed?):
            var mixer = SplitMix64(seed: seed)
            rng = SplitMix64(seed: base ^ mixer.next())
        case (.random, nil):
            var system = SystemRandomNumberGenerator()
            rng = SplitMix64(seed: system.next())
        }
        let topic = MockText.topic(of: prompt)
        let inputTokens = MockText.tokenCount(request.instructions ?? "") + MockText.tokenCount(prompt)

        guard let schema else {
            let questions = MockText.questions(count: 7, topic: topic, rng: &rng)
            var text = ([MockText.title(for: topic)] + questions.enumerated().map { "\($0.offset + 1). \($0.element)" })
                .joined(separator: "\n")
            if let limit = request.maxOutputTokens { text = MockText.truncate(text, toTokens: limit) }
            return Generation(text: text, usage: Usage(inputTokens: inputTokens, outputTokens: MockText.tokenCount(text)),
                              adapterSignature: adapter?.signature)
        }
        var answer = MockAnswer(schema: schema, topic: topic, rng: rng)
        let object = try answer.value(for: schema.root, named: "", depth: 0)
        let text = object.jsonText
        let outputTokens = MockText.tokenCount(text)
        if let limit = request.maxOutputTokens, outputTokens > limit {
            throw RunnerError(.decodingFailure, "the structured answer needs \(outputTokens) tokens but max_output_tokens is \(limit)")
        }
        return Generation(text: text, json: object,
                          usage: Usage(inputTokens: inputTokens, outputTokens: outputTokens),
                          adapterSignature: adapter?.signature)
    }

}

/// The mock's answer to a parsed schema: deterministic given the generator, within every bound and enum.
struct MockAnswer {
    static let maxDepth = 12
    let schema: ParsedSchema
    let topic: String
    var rng: SplitMix64?

    mutating func value(for node: SchemaNode, named name: String, depth: Int) throws(RunnerError) -> JSONValue {
        guard depth <= Self.maxDepth else {
            throw RunnerError(.decodingFailure, "the schema nests (or refers to itself) deeper than \(Self.maxDepth) levels")
        }
        switch node {
        case .reference(let target):
            return try value(for: schema.definitions[target]!, named: name, depth: depth + 1)
        case .anyOf(let options):
            return try value(for: pick(options), named: name, depth: depth + 1)
        case .object(let properties, _):
            let slots = properties.filter { $0.schema == .string(choices: nil) && Self.isSlot($0.name) }
            var questions = MockText.questions(count: slots.count, topic: topic, rng: &rng)[...]
            var object = JSONObject()
            for property in properties {
                if Self.isSlot(property.name), property.schema == .string(choices: nil), let next = questions.popFirst() {
                    object[property.name] = .string(next)
                } else {
                    object[property.name] = try value(for: property.schema, named: property.name, depth: depth + 1)
                }
            }
            return .object(object)
        case .array(let items, let minItems, let maxItems):
            let count = min(max(7, minItems), maxItems ?? max(7, minItems))
            if items == .string(choices: nil) {
                if name == "questions" {
                    return .array(MockText.questions(count: count, topic: topic, rng: &rng).map(JSONValue.string))
                }
                return .array((0..<count).map { .string("\(MockText.title(for: name.isEmpty ? "item" : name)) \($0 + 1) for \(topic)") })
            }
            var values: [JSONValue] = []
            for _ in 0..<count { values.append(try value(for: items, named: name, depth: depth + 1)) }
            return .array(values)
        case .string(let choices?):
            return .string(pick(choices))
        case .string(nil):
            return .string(name == "title" ? MockText.title(for: topic)
                                           : "\(MockText.title(for: name.isEmpty ? "answer" : name)) for \(topic)")
        case .integer(let minimum, let maximum, let choices):
            if let choices { return .int(pick(choices)) }
            let lo = minimum ?? min(0, maximum ?? 0), hi = max(lo, maximum ?? lo + 10)
            guard var generator = rng else { return .int(lo) }
            defer { rng = generator }
            return .int(Int64.random(in: lo...hi, using: &generator))
        case .number(let minimum, let maximum):
            let lo = minimum ?? min(0, maximum ?? 0), hi = max(lo, maximum ?? lo + 1)
            guard var generator = rng, hi > lo else { return .double(lo) }
            defer { rng = generator }
            return .double((Double.random(in: lo...hi, using: &generator) * 1000).rounded() / 1000)
        case .boolean:
            guard var generator = rng else { return .bool(true) }
            defer { rng = generator }
            return .bool(Bool.random(using: &generator))
        }
    }

    /// `q1`, `q2`, ...: a slot that holds one clarifying question.
    static func isSlot(_ name: String) -> Bool {
        name.count > 1 && name.first == "q" && name.dropFirst().allSatisfy(\.isNumber)
    }

    mutating func pick<T>(_ choices: [T]) -> T {
        guard var generator = rng else { return choices[0] }
        defer { rng = generator }
        return choices[Int.random(in: 0..<choices.count, using: &generator)]
    }
}
