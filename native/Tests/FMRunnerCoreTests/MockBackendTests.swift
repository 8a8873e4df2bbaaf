@testable import FMRunnerCore
import XCTest

final class MockBackendTests: XCTestCase {
    let mock = MockBackend()

    func questions(_ generation: Generation) -> [String] {
        generation.json.objectValue?["questions"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    func testAnswersExactlyNDistinctQuestionsAndATitleFromTheLastLine() async throws {
        for n in [7, 3, 1, 15, 0] {
            let g = try await mock.generate(generateRequest("Context line\nTask: plan a trip to Paris.", schema: questionSchema(count: n)))
            XCTAssertEqual(questions(g).count, n)
            XCTAssertEqual(Set(questions(g)).count, n, "questions must be distinct")
            XCTAssertEqual(g.json.objectValue?["title"], "Plan a trip to Paris")
            XCTAssertEqual(try JSONValue.parse(try XCTUnwrap(g.text)), g.json, "text is the JSON answer")
        }
    }

    func testGreedyIsRepeatableAndDependsOnThePrompt() async throws {
        let a = try await mock.generate(generateRequest("plan a wedding"))
        let b = try await mock.generate(generateRequest("plan a wedding"))
        let c = try await mock.generate(generateRequest("learn the cello"))
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a.json, c.json)
        var instructed = generateRequest("plan a wedding")
        instructed.instructions = "Ask about the guests first."
        let d = try await mock.generate(instructed)
        XCTAssertEqual(d.json.objectValue?["title"], a.json.objectValue?["title"])
        XCTAssertNotEqual(d.json, a.json, "instructions change the greedy answer")
    }

    func testRandomWithASeedIsRepeatablePerSeed() async throws {
        func run(_ seed: UInt64) async throws -> Generation {
            try await mock.generate(generateRequest("plan a wedding", sampling: Sampling(mode: .random, topP: 0.9, seed: seed)))
        }
        let first = try await run(7), again = try await run(7)
        XCTAssertEqual(first, again)
        var distinct = Set<String>()
        for seed: UInt64 in 0..<8 { distinct.insert(try await run(seed).text ?? "") }
        XCTAssertGreaterThan(distinct.count, 1, "different seeds should give different answers")
    }

    func testTextOutputIsDeterministicAndCutAtMaxOutputTokens() async throws {
        var request = generateRequest("write a haiku", schema: nil)
        let full = try await mock.generate(request)
        XCTAssertEqual(full.text?.split(separator: "\n").count, 8)
        XCTAssertEqual(full.json, .null)
        XCTAssertEqual(full.usage?.outputTokens, MockText.tokenCount(full.text ?? ""))
        request.maxOutputTokens = 5
        let cut = try await mock.generate(request)
        XCTAssertEqual(cut.usage?.outputTokens, 5)
        XCTAssertTrue(full.text?.hasPrefix(cut.text ?? "-") ?? false)
    }

    func testOtherSupportedPropertyTypes() async throws {
        let schema = JSONObject([
            ("type", "object"),
            ("properties", [
                "mood": ["type": "string", "enum": ["calm", "busy"]],
                "days": ["type": "integer", "minimum": 2, "maximum": 5],
                "score": ["type": "number", "minimum": 0.5, "maximum": 0.5],
                "urgent": ["type": "boolean"],
                "tags": ["type": "array", "items": ["type": "string"], "minItems": 2, "maxItems": 4],
            ]),
        ])
        for sampling in [Sampling.greedy, Sampling(mode: .random, seed: 1)] {
            let g = try await mock.generate(generateRequest(schema: schema, sampling: sampling))
            let o = try XCTUnwrap(g.json.objectValue)
            XCTAssertEqual(o.keys, ["mood", "days", "score", "urgent", "tags"])
            XCTAssertTrue(["calm", "busy"].contains(o["mood"]?.stringValue ?? ""))
            XCTAssertTrue((2...5).contains(o["days"]?.intValue ?? -1))
            XCTAssertEqual(o["score"]?.numberValue, 0.5)
            XCTAssertNotNil(o["urgent"]?.boolValue)
            XCTAssertEqual(o["tags"]?.arrayValue?.count, 4)
        }
    }

    func testUnsupportedSchemasAreRefused() async {
        // Only what Apple's dialect refuses too (nested objects, $ref, anyOf are accepted: see DialectTests).
        let refused: [JSONObject] = [
            JSONObject([("$ref", "#/$defs/A")]),
            JSONObject([("type", "object"), ("properties", ["a": ["$ref": "#/$defs/A"]])]),
            JSONObject([("type", "object"), ("properties", ["a": ["oneOf": [["type": "string"]]]])]),
            JSONObject([("type", "object"), ("properties", ["a": ["type": "string", "pattern": "^x$"]])]),
            JSONObject([("type", "object"), ("properties", ["a": ["type": "string", "minLength": 1]])]),
            JSONObject([("type", "object"), ("properties", ["a": ["type": "string", "maxLength": 9]])]),
            JSONObject([("type", "object"), ("properties", ["a": ["type": ["string", "null"]]])]),
            JSONObject([("type", "object"), ("properties", ["a": ["type": "null"]])]),
            JSONObject([("type", "object"), ("properties", ["a": ["type": "array", "items": ["type": "string"], "minItems": 3, "maxItems": 2]])]),
            JSONObject([("type", "object"), ("properties", ["a": ["type": "string"]]), ("required", ["b"])]),
            JSONObject([("type", "array")]),
        ]
        for schema in refused {
            do {
                _ = try await mock.generate(generateRequest(schema: schema))
                XCTFail("accepted \(JSONValue.object(schema).jsonText)")
            } catch let error as RunnerError {
                XCTAssertEqual(error.code, .unsupportedSchema, error.message)
            } catch {
                XCTFail("\(error)")
            }
        }
    }

    func testAdapters() async throws {
        let missing = AdapterRef(path: "/no/such/thing.fmadapter", format: .fmadapter)
        await assertCode(.adapterNotFound, generateRequest(adapter: missing))
        await assertCode(.adapterInvalid, generateRequest(adapter: AdapterRef(path: "/tmp", format: .ggufLora)))
        let noMetadata = try makeAdapter(metadata: nil)
        await assertCode(.adapterInvalid, generateRequest(adapter: AdapterRef(path: noMetadata, format: .fmadapter)))

        let path = try makeAdapter(metadata: #"{"adapterIdentifier":"fmadapter-x-9799725","baseModelSignature":"9799725ff8e851184037110b422d891ad3b92ec1"}"#)
        let adapted = try await mock.generate(generateRequest(adapter: AdapterRef(path: path, format: .fmadapter)))
        XCTAssertEqual(adapted.adapterSignature, "9799725ff8e851184037110b422d891ad3b92ec1")
        let base = try await mock.generate(generateRequest())
        XCTAssertNil(base.adapterSignature)
        XCTAssertNotEqual(adapted.json, base.json, "an adapter changes the mock's answer")
    }

    func testStructuredAnswerLongerThanMaxOutputTokensIsADecodingFailure() async {
        var request = generateRequest()
        request.maxOutputTokens = 10
        await assertCode(.decodingFailure, request)
    }

    func assertCode(_ code: ErrorCode, _ request: Request, file: StaticString = #filePath, line: UInt = #line) async {
        do {
            _ = try await mock.generate(request)
            XCTFail("expected \(code.rawValue)", file: file, line: line)
        } catch let error as RunnerError {
            XCTAssertEqual(error.code, code, error.message, file: file, line: line)
        } catch {
            XCTFail("\(error)", file: file, line: line)
        }
    }

    func testTopicOfAPrompt() {
        XCTAssertEqual(MockText.topic(of: "Instructions...\n\nTask: plan a trip to Paris.\n\n"), "plan a trip to Paris")
        XCTAssertEqual(MockText.topic(of: "   "), "this task")
        XCTAssertEqual(MockText.topic(of: "Note: see below: now"), "see below: now")
    }
}
