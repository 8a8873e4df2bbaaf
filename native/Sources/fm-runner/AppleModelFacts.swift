#if canImport(FoundationModels)
// What the OS tells about its model, per SDK and OS version. Compile-time flags (set by native/sdk-flags.sh,
// as Apple's python-apple-fm-sdk does with FM_HAS_MACOS_27_SDK): FM_HAS_MACOS_26_4_SDK for API added in
// 26.4 (contextSize, tokenCount(for:)); FM_HAS_MACOS_27_SDK for API added in 27.0 (Variant, Response.usage,
// GenerationOptions(samplingMode:)). Without a flag the code compiles with the 26.0 SDK and reports null.
// NOT compiled here (Linux): see the dated table in native/README.md.
import FMRunnerCore
import Foundation
import FoundationModels

@available(macOS 26.0, *)
enum AppleModelFacts {
    /// `SystemLanguageModel.variant.displayName` (macOS 27: "AFM 3 Core" / "AFM 3 Core Advanced").
    static func variant(of model: SystemLanguageModel) -> String? {
        #if FM_HAS_MACOS_27_SDK
        if #available(macOS 27.0, *) { return model.variant.displayName }
        #endif
        return nil
    }

    /// `contextSize` (@backDeployed before 26.4, so callable on 26.0 when built with the 26.4+ SDK).
    /// 0 (reported during a macOS 27 cold start by third parties) is unknown, not a size.
    static func contextTokens(of model: SystemLanguageModel) -> Int? {
        #if FM_HAS_MACOS_26_4_SDK || FM_HAS_MACOS_27_SDK
        let size = model.contextSize
        return size > 0 ? size : nil
        #else
        return nil
        #endif
    }

    /// Adapters on macOS 27: third-party SDK 27.1 references list `SystemLanguageModel.Adapter` as
    /// "Deprecated in 26.4, Unavailable in 27.0"; Apple's own pages found so far do not say (README table).
    /// Until a Mac run shows otherwise the runner reports no adapter support on 27 and refuses adapter
    /// requests with adapter_unsupported instead of failing inside the framework.
    static var adaptersSupported: Bool {
        if #available(macOS 27.0, *) { return false }
        return true
    }

    /// The base model signature prefix the OS exposes: an adapter identifier compatible with this OS is
    /// "fmadapter-<name>-<first 7 hex digits of baseModelSignature>" (toolkit export format), so the
    /// identifiers the OS lists for a name carry that prefix. nil on 27 or when none is listed.
    static func baseModelSignaturePrefix() -> String? {
        guard adaptersSupported else { return nil }
        for identifier in SystemLanguageModel.Adapter.compatibleAdapterIdentifiers(name: "fmrunner") {
            if let tail = identifier.split(separator: "-").last, tail.count == 7,
               tail.allSatisfy({ $0.isHexDigit }) {
                return String(tail).lowercased()
            }
        }
        return nil
    }

    /// Token usage for one response: `Response.usage` on macOS 27; on 26.4+ the model's tokenizer over
    /// instructions + prompt (input; the schema and chat template are not counted) and the answer text
    /// (output); nil before 26.4.
    static func usage<Content: Generable>(of response: LanguageModelSession.Response<Content>, model: SystemLanguageModel,
                               request: Request, answer: String) async -> Usage? {
        #if FM_HAS_MACOS_27_SDK
        if #available(macOS 27.0, *) {
            return Usage(inputTokens: response.usage.input.totalTokenCount,
                         outputTokens: response.usage.output.totalTokenCount)
        }
        #endif
        #if FM_HAS_MACOS_26_4_SDK || FM_HAS_MACOS_27_SDK
        if #available(macOS 26.4, *) {
            // Only the documented overload, tokenCount(for: Instructions), over each text.
            let instructions = try? await model.tokenCount(for: Instructions(request.instructions ?? ""))
            let prompt = try? await model.tokenCount(for: Instructions(request.prompt ?? ""))
            let output = try? await model.tokenCount(for: Instructions(answer))
            let input = instructions.flatMap { i in prompt.map { i + $0 } }
            return Usage(inputTokens: input, outputTokens: output)
        }
        #endif
        return nil
    }

    /// `GenerationOptions` in the spelling of the SDK at hand (27 adds `samplingMode:`; 26's `sampling:`).
    static func options(sampling: GenerationOptions.SamplingMode, temperature: Double?,
                        maximumResponseTokens: Int?) -> GenerationOptions {
        #if FM_HAS_MACOS_27_SDK
        return GenerationOptions(samplingMode: sampling, temperature: temperature,
                                 maximumResponseTokens: maximumResponseTokens)
        #else
        return GenerationOptions(sampling: sampling, temperature: temperature,
                                 maximumResponseTokens: maximumResponseTokens)
        #endif
    }
}
#endif
