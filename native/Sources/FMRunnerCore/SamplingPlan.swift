/// How a request's sampling maps onto FoundationModels' `GenerationOptions` (kept here, Foundation-only,
/// so that it is tested on Linux; AppleBackend only translates the cases into SDK calls).
///
/// - greedy -> `.greedy`; temperature and seed are not passed (they do not apply to greedy decoding).
/// - random with top_k -> `.random(top: k, seed:)`; with top_p -> `.random(probabilityThreshold: p, seed:)`.
/// - random with neither -> `.random(probabilityThreshold: 1.0, seed:)`: plain sampling from the whole
///   distribution, which (unlike leaving `sampling` nil) keeps the seed.
public struct SamplingPlan: Equatable, Sendable {
    public enum Mode: Equatable, Sendable {
        case greedy
        case topK(Int)
        case topP(Double)
    }

    public var mode: Mode
    public var seed: UInt64?
    public var temperature: Double?

    public init(_ sampling: Sampling) {
        switch sampling.mode {
        case .greedy:
            mode = .greedy
        case .random:
            if let k = sampling.topK { mode = .topK(k) } else { mode = .topP(sampling.topP ?? 1.0) }
            seed = sampling.seed
            temperature = sampling.temperature
        }
    }
}
