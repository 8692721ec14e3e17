import SwitchyardAccounts
import Testing

@Suite struct APIKeySecretsAreRandomAndHashed {
    static let base62 = Set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

    @Test func generatedSecretsHaveThePrefixAndFortyBase62Characters() {
        for _ in 0..<200 {
            let secret = APIKeySecret.generate()
            #expect(secret.hasPrefix("sk-sy-"))
            #expect(secret.count == 46)
            #expect(secret.dropFirst(6).allSatisfy { Self.base62.contains($0) })
            #expect(APIKeySecret.looksValid(secret))
        }
    }

    @Test func generatedSecretsAreUniqueAndUseTheWholeAlphabet() {
        let secrets = (0..<2_000).map { _ in APIKeySecret.generate() }
        #expect(Set(secrets).count == secrets.count)
        // 80,000 draws from 62 symbols: every symbol appears (a biased or constant generator would not).
        let seen = Set(secrets.flatMap { $0.dropFirst(6) })
        #expect(seen == Self.base62)
    }

    @Test func hashIsLowercaseHexSHA256() {
        // SHA-256("abc"), FIPS 180-2 test vector.
        #expect(APIKeySecret.hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(APIKeySecret.hash("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let secret = APIKeySecret.generate()
        #expect(APIKeySecret.hash(secret) == APIKeySecret.hash(secret))
        #expect(APIKeySecret.hash(secret) != APIKeySecret.hash(APIKeySecret.generate()))
    }

    @Test func displayPrefixIsTheFirstTwelveCharacters() {
        #expect(APIKeySecret.displayPrefix("sk-sy-Ab3dE9xyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxy") == "sk-sy-Ab3dE9")
    }

    @Test(arguments: [
        "", "sk-sy-", "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789ABCD",
        "sk-sy-abcdefghijklmnopqrstuvwxyz0123456789ABC",  // 39 random characters
        "sk-sy-abcdefghijklmnopqrstuvwxyz0123456789ABCDE",  // 41
        "sk-sy-abcdefghijklmnopqrstuvwxyz012345678-ABCD",  // a dash
        "SK-SY-abcdefghijklmnopqrstuvwxyz0123456789ABCD",
        "sk-sy-abcdefghijklmnopqrstuvwxyz01234567é9ABC",
    ])
    func malformedCandidatesAreRejectedCheaply(candidate: String) {
        #expect(!APIKeySecret.looksValid(candidate))
    }

    @Test func newKeysGetRandomIDsAndStoreOnlyTheHash() {
        let (record, secret) = APIKeyRecord.create(name: "ci", credits: Money(usd: "5")!)
        #expect(record.id.hasPrefix("key_"))
        #expect(record.id.count == 20)
        #expect(record.id.dropFirst(4).allSatisfy { "0123456789abcdef".contains($0) })
        #expect(record.hash == APIKeySecret.hash(secret))
        #expect(record.prefix == APIKeySecret.displayPrefix(secret))
        #expect(!record.hash.contains(secret) && record.prefix.count == 12)
        let ids = Set((0..<1_000).map { _ in APIKeyRecord.generateID() })
        #expect(ids.count == 1_000)
    }
}
