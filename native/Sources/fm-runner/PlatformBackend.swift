import FMRunnerCore

/// The `apple` backend: FoundationModels where the SDK has it, otherwise a backend that answers every
/// probe and generate with model_unavailable and the reason.
func makeAppleBackend() -> any GenerationBackend {
    #if canImport(FoundationModels)
    if #available(macOS 26.0, *) {
        return AppleBackend()
    }
    return UnavailableBackend(name: "apple", model: nil, reason: "FoundationModels needs macOS 26 or later")
    #else
    return UnavailableBackend(name: "apple", model: nil,
                              reason: "FoundationModels is not available on this platform (\(platformName))")
    #endif
}

let platformName: String = {
    #if os(Linux)
    return "Linux"
    #elseif os(Windows)
    return "Windows"
    #elseif os(macOS)
    return "macOS built without the macOS 26 SDK"
    #else
    return "this OS"
    #endif
}()
