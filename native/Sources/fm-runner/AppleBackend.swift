#if canImport(FoundationModels)
// The FoundationModels backend. Compiled only with the macOS 26+ SDK; on Linux this file is empty.
// API spellings follow Apple's documentation (SystemLanguageModel, LanguageModelSession, GenerationOptions,
// GenerationSchema decoded from JSON, SystemLanguageModel.Adapter(fileURL:)); what differs between the
// 26 and 27 SDKs lives in AppleModelFacts.swift. Not compiled here (Linux): see native/README.md.
import FMRunnerCore
import Foundation
import FoundationModels

@available(macOS 26.0, *)
final class AppleBackend: GenerationBackend, @unchecked Sendable {
    static let modelName = "SystemLanguageModel.default"

    /// One model per loaded adapter, keyed by the adapter's content digest: each adapter is loaded once
    /// per process however many paths (worktrees) it is used from; `loads` is probe's adapter_loads.
    private let adapterModels = AdapterCache<SystemLanguageModel>(capacity: 4)
    /// Asked once: the OS lists the compatible adapter identifiers from its installed model.
    private let signature = AppleModelFacts.baseModelSignaturePrefix()

    func info() async -> BackendInfo {
        let model = SystemLanguageModel.default
        let (available, reason) = Self.describe(model.availability)
        // No public API names the system model's version; the variant (27) and the OS build identify it
        // (model versions change with OS releases), so model_version stays null rather than guessed.
        return BackendInfo(name: "apple", model: Self.modelName, modelVersion: nil, osBuild: OSInfo.build,
                           available: available, reason: reason,
                           modelVariant: AppleModelFacts.variant(of: model), baseModelSignature: signature,
                           contextTokens: available ? AppleModelFacts.contextTokens(of: model) : nil,
                           adaptersSupported: AppleModelFacts.adaptersSupported,
                           adapterLoads: adapterModels.loads, dialect: SchemaDialect.apple.name)
    }

    func generate(_ request: Request) async throws -> Generation {
        do {
            let adapter = try request.adapter.map { try AdapterResolver.resolve($0) }
            let model = try self.model(for: adapter)
            let (available, reason) = Self.describe(model.availability)
            guard available else { throw RunnerError(.modelUnavailable, reason ?? "the model is not available") }

            let options = Self.options(for: request)
            let prompt = request.prompt ?? ""
            // A fresh session per request: a session's transcript accumulates, and one session answers
            // one request at a time.
            let session = LanguageModelSession(model: model, instructions: request.instructions)
            if let schemaObject = request.jsonSchema {
                let schema = try Self.generationSchema(from: schemaObject)
                let response = try await session.respond(to: prompt, schema: schema, includeSchemaInPrompt: true,
                                                         options: options)
                let jsonText = response.content.jsonString
                guard let json = try? JSONValue.parse(jsonText) else {
                    throw RunnerError(.decodingFailure, "the structured answer is not JSON: \(jsonText.prefix(200))")
                }
                let usage = await AppleModelFacts.usage(of: response, model: model, request: request, answer: jsonText)
                return Generation(text: jsonText, json: json, usage: usage, adapterSignature: adapter?.signature)
            }
            let response = try await session.respond(to: prompt, options: options)
            let usage = await AppleModelFacts.usage(of: response, model: model, request: request, answer: response.content)
            return Generation(text: response.content, usage: usage, adapterSignature: adapter?.signature)
        } catch let error as RunnerError {
            throw error
        } catch let error as LanguageModelSession.GenerationError {
            throw Self.map(error)
        } catch let error as SystemLanguageModel.Adapter.AssetError {
            throw Self.map(error)
        } catch is CancellationError {
            throw RunnerError(.timeout, "the request was cancelled before the model answered", retryable: true)
        } catch {
            // e.g. macOS 27's LanguageModelError, which the macOS 26 SDK cannot name.
            let name = FrameworkErrors.caseName(fromDescription: String(describing: error))
            throw FrameworkErrors.runnerError(caseName: name, message: error.localizedDescription)
        }
    }

    // MARK: - adapters

    private func model(for adapter: ResolvedAdapter?) throws -> SystemLanguageModel {
        guard let adapter else { return SystemLanguageModel.default }
        return try adapterModels.value(for: adapter.cacheKey) {
            do {
                let loaded = try SystemLanguageModel.Adapter(fileURL: URL(fileURLWithPath: adapter.path))
                return SystemLanguageModel(adapter: loaded)
            } catch let error as SystemLanguageModel.Adapter.AssetError {
                throw Self.map(error)
            } catch {
                // e.g. an adapter trained for another system model version
                throw RunnerError(.adapterInvalid, "cannot load adapter \(adapter.path): \(error.localizedDescription)")
            }
        }
    }

    // MARK: - options and schema

    static func options(for request: Request) -> GenerationOptions {
        let plan = SamplingPlan(request.effectiveSampling)
        let sampling: GenerationOptions.SamplingMode
        switch plan.mode {
        case .greedy:
            sampling = .greedy
        case .topK(let k):
            sampling = .random(top: k, seed: plan.seed)
        case .topP(let p):
            sampling = .random(probabilityThreshold: p, seed: plan.seed)
        }
        return AppleModelFacts.options(sampling: sampling, temperature: plan.temperature,
                                       maximumResponseTokens: request.maxOutputTokens)
    }

    static func generationSchema(from schema: JSONObject) throws -> GenerationSchema {
        let prepared = try AppleSchemaDialect.prepare(schema)
        let data = Data(JSONValue.object(prepared).jsonText.utf8)
        do {
            return try JSONDecoder().decode(GenerationSchema.self, from: data)
        } catch {
            throw RunnerError(.unsupportedSchema, "FoundationModels cannot use this schema: \(error)")
        }
    }

    // MARK: - availability and errors

    static func describe(_ availability: SystemLanguageModel.Availability) -> (Bool, String?) {
        switch availability {
        case .available:
            return (true, nil)
        case .unavailable(.deviceNotEligible):
            return (false, "this device is not eligible for Apple Intelligence (deviceNotEligible)")
        case .unavailable(.appleIntelligenceNotEnabled):
            return (false, "Apple Intelligence is not enabled in System Settings (appleIntelligenceNotEnabled)")
        case .unavailable(.modelNotReady):
            return (false, "the system model is not ready: still downloading, or not downloadable with the "
                + "current region/language settings (modelNotReady)")
        case .unavailable(let other):
            return (false, "the system model is unavailable (\(other))")
        }
    }

    static func map(_ error: LanguageModelSession.GenerationError) -> RunnerError {
        let name: String
        switch error {
        case .exceededContextWindowSize: name = "exceededContextWindowSize"
        case .assetsUnavailable: name = "assetsUnavailable"
        case .guardrailViolation: name = "guardrailViolation"
        case .unsupportedGuide: name = "unsupportedGuide"
        case .unsupportedLanguageOrLocale: name = "unsupportedLanguageOrLocale"
        case .decodingFailure: name = "decodingFailure"
        case .rateLimited: name = "rateLimited"
        case .concurrentRequests: name = "concurrentRequests"
        case .refusal: name = "refusal"
        @unknown default: name = FrameworkErrors.caseName(fromDescription: String(describing: error))
        }
        return FrameworkErrors.runnerError(caseName: name, message: error.localizedDescription)
    }

    static func map(_ error: SystemLanguageModel.Adapter.AssetError) -> RunnerError {
        let name: String
        switch error {
        case .invalidAsset: name = "invalidAsset"
        case .invalidAdapterName: name = "invalidAdapterName"
        case .compatibleAdapterNotFound: name = "compatibleAdapterNotFound"
        @unknown default: name = FrameworkErrors.caseName(fromDescription: String(describing: error))
        }
        return RunnerError(.adapterInvalid, "\(name): \(error.localizedDescription)")
    }
}
#endif
