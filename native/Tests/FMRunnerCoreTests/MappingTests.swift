@testable import FMRunnerCore
import XCTest

final class MappingTests: XCTestCase {
    func testSamplingPlan() {
        XCTAssertEqual(SamplingPlan(.greedy).mode, .greedy)
        XCTAssertNil(SamplingPlan(Sampling(mode: .greedy, temperature: 0.5, seed: 1)).temperature)
        let k = SamplingPlan(Sampling(mode: .random, temperature: 0.8, topK: 50, seed: 9))
        XCTAssertEqual(k.mode, .topK(50))
        XCTAssertEqual(k.seed, 9)
        XCTAssertEqual(k.temperature, 0.8)
        XCTAssertEqual(SamplingPlan(Sampling(mode: .random, topP: 0.9)).mode, .topP(0.9))
        XCTAssertEqual(SamplingPlan(Sampling(mode: .random, seed: 4)).mode, .topP(1.0))
    }

    func testAppleDialectAddsOrderAndTitleAndRefusesWhatItCannotHonour() throws {
        let prepared = try AppleSchemaDialect.prepare(questionSchema())
        XCTAssertEqual(prepared["x-order"], ["title", "questions"])
        XCTAssertEqual(prepared["title"], "Output")
        XCTAssertEqual(prepared["properties"]?.objectValue?["questions"]?.objectValue?["minItems"], 7)

        let kept = try AppleSchemaDialect.prepare(JSONObject([("title", "QuestionSet"), ("type", "object"),
            ("properties", ["b": ["type": "string"], "a": ["type": "string"]]), ("x-order", ["a", "b"])]))
        XCTAssertEqual(kept["title"], "QuestionSet")
        XCTAssertEqual(kept["x-order"], ["a", "b"])

        // A property may be *named* like a keyword; only keywords are refused.
        XCTAssertNoThrow(try AppleSchemaDialect.prepare(JSONObject([("type", "object"), ("properties", ["pattern": ["type": "string"]])])))
        let nested = JSONObject([("type", "object"), ("$defs", ["A": ["type": "object", "properties": ["x": ["type": "string", "pattern": "y"]]]])])
        XCTAssertThrowsError(try AppleSchemaDialect.prepare(nested)) { error in
            XCTAssertEqual((error as? RunnerError)?.code, .unsupportedSchema)
        }
    }

    func testEveryGenerationErrorCaseHasItsCode() {
        let expected: [String: (ErrorCode, Bool)] = [
            "exceededContextWindowSize": (.contextOverflow, false), "assetsUnavailable": (.modelUnavailable, false),
            "guardrailViolation": (.guardrail, false), "unsupportedGuide": (.unsupportedSchema, false),
            "unsupportedLanguageOrLocale": (.unsupportedLanguage, false), "decodingFailure": (.decodingFailure, false),
            "rateLimited": (.rateLimited, true), "concurrentRequests": (.rateLimited, true), "refusal": (.refusal, false),
        ]
        for (name, (code, retryable)) in expected {
            let error = FrameworkErrors.runnerError(caseName: name, message: "m")
            XCTAssertEqual(error.code, code, name)
            XCTAssertEqual(error.retryable, retryable, name)
        }
        XCTAssertEqual(FrameworkErrors.runnerError(caseName: "somethingNew", message: "m").code, .internal)
        XCTAssertEqual(FrameworkErrors.caseName(fromDescription: "contextSizeExceeded(FoundationModels.LanguageModelError.Context(debugDescription: \"x\"))"), "contextSizeExceeded")
        XCTAssertEqual(FrameworkErrors.caseName(fromDescription: "FoundationModels.LanguageModelError.timeout"), "timeout")
    }

    func testAdapterCacheLoadsOnceAndEvictsTheLeastRecentlyUsed() {
        let cache = AdapterCache<Int>(capacity: 2)
        var loads = 0
        func get(_ key: String) -> Int { cache.value(for: key) { loads += 1; return loads } }
        XCTAssertEqual(get("a"), 1)
        XCTAssertEqual(get("a"), 1)
        _ = get("b")
        _ = get("a")
        _ = get("c")  // evicts b
        XCTAssertEqual(cache.keys, ["a", "c"])
        XCTAssertEqual(loads, 3)
        XCTAssertEqual(cache.loads, 3)
    }

    func testAdapterCacheKeyChangesWhenTheAdapterIsRewritten() throws {
        let path = try makeAdapter(metadata: #"{"baseModelSignature":"s1"}"#)
        let ref = AdapterRef(path: path, format: .fmadapter)
        let first = try AdapterResolver.resolve(ref)
        try Data(#"{"baseModelSignature":"s2","more":true}"#.utf8).write(to: URL(fileURLWithPath: path + "/metadata.json"))
        let second = try AdapterResolver.resolve(ref)
        XCTAssertEqual(second.cacheKey, try AdapterDigest.digest(of: path), "the key is the content digest")
        XCTAssertNotEqual(first.cacheKey, second.cacheKey)
        XCTAssertEqual(second.signature, "s2")
    }

    func testCommandLine() throws {
        XCTAssertEqual(try CommandLineOptions.parse(["serve"]), CommandLineOptions(command: .serve))
        let mock = try CommandLineOptions.parse(["serve", "--backend", "mock", "--delay-ms=25"])
        XCTAssertEqual(mock.backend, .mock)
        XCTAssertEqual(mock.delayMs, 25)
        XCTAssertEqual(try CommandLineOptions.parse(["once", "--request", "{}"]).request, "{}")
        XCTAssertEqual(try CommandLineOptions.parse(["probe"]).backend, .apple)
        for bad in [[], ["fly"], ["serve", "--backend", "cloud"], ["serve", "--delay-ms", "-1"], ["probe", "--request", "{}"], ["serve", "--x"]] {
            XCTAssertThrowsError(try CommandLineOptions.parse(bad), "\(bad)")
        }
    }
}
