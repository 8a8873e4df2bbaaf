@testable import FMRunnerCore
import XCTest

final class RequestHandlerTests: XCTestCase {
    let handler = RequestHandler(backend: MockBackend())

    func testEveryResponseCarriesEveryKey() async throws {
        let lines = [
            #"{"id":"p","op":"probe"}"#, "garbage", #"{"id":"x","op":"nope"}"#,
            #"{"id":"g","op":"generate","prompt":"plan a trip"}"#, #"{"id":"s","op":"shutdown"}"#,
        ]
        for line in lines {
            let object = try parsedLine(await handler.handle(line: line).response)
            XCTAssertEqual(Set(object.keys), responseKeys, line)
            XCTAssertEqual(Set(try XCTUnwrap(object["backend"]?.objectValue).keys), backendKeys, line)
            XCTAssertNotNil(object["timing"]?.objectValue?["latency_ms"]?.numberValue, line)
        }
    }

    func testProbeGenerateAndShutdown() async throws {
        let (probe, keep) = await handler.handle(line: #"{"id":"p","op":"probe"}"#)
        XCTAssertTrue(probe.ok && keep)
        XCTAssertEqual(probe.backend.name, "mock")
        XCTAssertEqual(probe.backend.model, "mock-fm")
        XCTAssertEqual(probe.backend.modelVersion, "1")
        XCTAssertEqual(probe.backend.available, true)

        let (shutdown, keepAfterShutdown) = await handler.handle(line: #"{"id":"s","op":"shutdown"}"#)
        XCTAssertTrue(shutdown.ok)
        XCTAssertFalse(keepAfterShutdown)
    }

    func testErrorsKeepServingAndEchoTheId() async throws {
        let (bad, keep) = await handler.handle(line: "{oops")
        XCTAssertTrue(keep)
        XCTAssertNil(bad.id)
        XCTAssertEqual(bad.error?.code, .badRequest)
        XCTAssertFalse(bad.ok)
        let unknown = await handler.handle(line: #"{"id":"u","op":"train"}"#).response
        XCTAssertEqual(unknown.id, "u")
        XCTAssertEqual(unknown.error?.code, .unknownOp)
        let schema = await handler.handle(line: #"{"id":"s","op":"generate","prompt":"x","output":{"kind":"json_schema","schema":{"type":"object","properties":{"a":{"type":"string","pattern":"x"}}}}}"#).response
        XCTAssertEqual(schema.error?.code, .unsupportedSchema)
        let adapter = await handler.handle(line: #"{"id":"a","op":"generate","prompt":"x","adapter":{"path":"/missing.fmadapter","format":"fmadapter"}}"#).response
        XCTAssertEqual(adapter.error?.code, .adapterNotFound)
        XCTAssertEqual(adapter.id, "a")
        XCTAssertNil(adapter.text)
        XCTAssertNil(adapter.usage)
    }

    func testUnavailableBackendAnswersModelUnavailable() async throws {
        let linux = RequestHandler(backend: UnavailableBackend(name: "apple", model: nil, reason: "no FoundationModels here"))
        for line in [#"{"id":"p","op":"probe"}"#, #"{"id":"g","op":"generate","prompt":"x"}"#] {
            let (response, keep) = await linux.handle(line: line)
            XCTAssertTrue(keep)
            XCTAssertFalse(response.ok)
            XCTAssertEqual(response.error?.code, .modelUnavailable)
            XCTAssertEqual(response.error?.message, "no FoundationModels here")
            XCTAssertEqual(response.backend.available, false)
            XCTAssertEqual(response.backend.reason, "no FoundationModels here")
        }
        let shutdown = await linux.handle(line: #"{"id":"s","op":"shutdown"}"#)
        XCTAssertTrue(shutdown.response.ok)
        XCTAssertFalse(shutdown.keepServing)
    }

    func testTimeoutAndUnexpectedErrors() async throws {
        let slow = RequestHandler(backend: MockBackend(delayMs: 2_000))
        let started = Date()
        let timedOut = await slow.handle(line: #"{"id":"t","op":"generate","prompt":"x","timeout_s":0.1}"#).response
        XCTAssertEqual(timedOut.error?.code, .timeout)
        XCTAssertEqual(timedOut.error?.retryable, true)
        XCTAssertLessThan(Date().timeIntervalSince(started), 1.5)

        let failing = RequestHandler(backend: FailingBackend())
        let internalError = await failing.handle(line: #"{"id":"f","op":"generate","prompt":"x"}"#).response
        XCTAssertEqual(internalError.error?.code, .internal)
    }

    func testSuccessfulGenerateReportsAdapterSignature() async throws {
        let path = try makeAdapter(metadata: #"{"baseModelSignature":"abc123"}"#)
        let line = #"{"id":"g","op":"generate","prompt":"x","adapter":{"path":"\#(path)","format":"fmadapter"}}"#
        let response = await handler.handle(line: line).response
        XCTAssertTrue(response.ok, response.line)
        XCTAssertEqual(response.backend.adapterSignature, "abc123")
        XCTAssertNotNil(response.usage?.inputTokens)
    }
}
