/// What a backend produced for one generate request.
public struct Generation: Equatable, Sendable {
    public var text: String?
    public var json: JSONValue
    public var usage: Usage?
    public var adapterSignature: String?

    public init(text: String?, json: JSONValue = .null, usage: Usage? = nil, adapterSignature: String? = nil) {
        self.text = text
        self.json = json
        self.usage = usage
        self.adapterSignature = adapterSignature
    }
}

/// A model behind the protocol. `info()` is its identity and availability (answered by `probe`);
/// `generate` throws `RunnerError` for protocol errors (anything else is reported as `internal`).
/// The request loop only calls `generate` while `info().available` is not false.
public protocol GenerationBackend: Sendable {
    func info() async -> BackendInfo
    func generate(_ request: Request) async throws -> Generation
}

/// A backend that cannot serve here: every probe and generate answers `model_unavailable` with the reason.
/// On Linux the `apple` backend is this, since FoundationModels does not exist there.
public struct UnavailableBackend: GenerationBackend {
    public let name: String
    public let model: String?
    public let reason: String

    public init(name: String, model: String?, reason: String) {
        self.name = name
        self.model = model
        self.reason = reason
    }

    public func info() async -> BackendInfo {
        BackendInfo(name: name, model: model, modelVersion: nil, osBuild: OSInfo.build, available: false, reason: reason)
    }

    public func generate(_ request: Request) async throws -> Generation {
        throw RunnerError(.modelUnavailable, reason)
    }
}
