/// The protocol error for a FoundationModels error, by the error's case name. AppleBackend switches over
/// `LanguageModelSession.GenerationError` exhaustively to get the name; errors it cannot name at compile
/// time (e.g. macOS 27's `LanguageModelError`, absent from the macOS 26 SDK) are named from their
/// description. Unknown names map to `internal`.
public enum FrameworkErrors {
    public static let codes: [String: (ErrorCode, Bool)] = [
        // LanguageModelSession.GenerationError (macOS 26)
        "exceededContextWindowSize": (.contextOverflow, false),
        "assetsUnavailable": (.modelUnavailable, false),
        "guardrailViolation": (.guardrail, false),
        "unsupportedGuide": (.unsupportedSchema, false),
        "unsupportedLanguageOrLocale": (.unsupportedLanguage, false),
        "decodingFailure": (.decodingFailure, false),
        "rateLimited": (.rateLimited, true),
        "concurrentRequests": (.rateLimited, true),
        "refusal": (.refusal, false),
        // LanguageModelError (macOS 27)
        "contextSizeExceeded": (.contextOverflow, false),
        "timeout": (.timeout, true),
        "unsupportedGenerationGuide": (.unsupportedSchema, false),
        "unsupportedTranscriptContent": (.badRequest, false),
        // SystemLanguageModel.Adapter.AssetError
        "invalidAsset": (.adapterInvalid, false),
        "invalidAdapterName": (.adapterInvalid, false),
        "compatibleAdapterNotFound": (.adapterInvalid, false),
    ]

    public static func runnerError(caseName: String, message: String) -> RunnerError {
        guard let (code, retryable) = codes[caseName] else {
            return RunnerError(.internal, "\(caseName): \(message)")
        }
        return RunnerError(code, "\(caseName): \(message)", retryable: retryable)
    }

    /// "refusal(FoundationModels.X.Refusal(...), ...)" -> "refusal"; "Module.Type.caseName" -> "caseName".
    public static func caseName(fromDescription description: String) -> String {
        let head = description.prefix { $0 != "(" }
        return String(head.split(separator: ".").last ?? head)
    }
}
