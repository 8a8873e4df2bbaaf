import Foundation

/// Answers one request line with exactly one response. Never throws: backend faults become `internal`.
public struct RequestHandler: Sendable {
    public let backend: any GenerationBackend
    public let log: @Sendable (String) -> Void

    public init(backend: any GenerationBackend, log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.backend = backend
        self.log = log
    }

    /// The response and whether to keep serving (false after `shutdown`).
    public func handle(line: String) async -> (response: Response, keepServing: Bool) {
        let started = DispatchTime.now()
        switch RequestDecoder.decode(line) {
        case .failure(let failure):
            log("request \(failure.id ?? "(no id)") refused: \(failure.error)")
            return (.failure(failure.id, failure.error, backend: await backend.info(), latencyMs: elapsedMs(since: started)), true)
        case .success(let request):
            return await handle(request: request, started: started)
        }
    }

    /// A response for bytes that could not be read as a line of UTF-8 text.
    public func unreadable(_ why: String) async -> Response {
        .failure(nil, RunnerError(.badRequest, why), backend: await backend.info())
    }

    public func handle(request: Request, started: DispatchTime = .now()) async -> (response: Response, keepServing: Bool) {
        let info = await backend.info()
        switch request.op {
        case .shutdown:
            return (Response(id: request.id, ok: true, latencyMs: elapsedMs(since: started), backend: info), false)
        case .probe:
            return (probe(request.id, info, started), true)
        case .generate:
            if info.available == false { return (probe(request.id, info, started), true) }
            if let adapter = request.adapter, info.adaptersSupported == false {
                let error = Self.adapterUnsupported(adapter, info)
                log("request \(request.id): \(error)")
                return (.failure(request.id, error, backend: info, latencyMs: elapsedMs(since: started)), true)
            }
            return (await generate(request, info, started), true)
        }
    }

    /// The one message for an adapter request on a backend that cannot load adapters at all.
    static func adapterUnsupported(_ adapter: AdapterRef, _ info: BackendInfo) -> RunnerError {
        let model = [info.model, info.modelVariant].compactMap { $0 }.joined(separator: " ")
        let build = info.osBuild.map { " on OS build \($0)" } ?? ""
        return RunnerError(.adapterUnsupported,
            "the \(info.name) backend (\(model.isEmpty ? "unknown model" : model))\(build) cannot load adapters, "
            + "so the \(adapter.format.rawValue) adapter \(adapter.path) was not used and nothing was generated. "
            + "Run an adapter-free pipeline here, or run adapter experiments on a system whose probe reports "
            + "adapters_supported: true")
    }

    private func probe(_ id: String, _ info: BackendInfo, _ started: DispatchTime) -> Response {
        guard info.available == false else {
            return Response(id: id, ok: true, latencyMs: elapsedMs(since: started), backend: info)
        }
        let error = RunnerError(.modelUnavailable, info.reason ?? "the model is not available")
        return .failure(id, error, backend: info, latencyMs: elapsedMs(since: started))
    }

    private func generate(_ request: Request, _ info: BackendInfo, _ started: DispatchTime) async -> Response {
        let backend = self.backend
        do {
            let generation = try await withTimeout(seconds: request.timeoutS) { try await backend.generate(request) }
            var used = info
            used.adapterSignature = generation.adapterSignature
            return Response(id: request.id, ok: true, text: generation.text, json: generation.json,
                            usage: generation.usage, latencyMs: elapsedMs(since: started), backend: used)
        } catch let error as RunnerError {
            log("request \(request.id): \(error)")
            return .failure(request.id, error, backend: info, latencyMs: elapsedMs(since: started))
        } catch {
            log("request \(request.id): unexpected \(type(of: error)): \(error)")
            let wrapped = RunnerError(.internal, "\(type(of: error)): \(error)")
            return .failure(request.id, wrapped, backend: info, latencyMs: elapsedMs(since: started))
        }
    }
}

/// Milliseconds since `start`, rounded to microseconds.
public func elapsedMs(since start: DispatchTime) -> Double {
    let nanos = DispatchTime.now().uptimeNanoseconds &- start.uptimeNanoseconds
    return (Double(nanos) / 1000).rounded() / 1000
}
