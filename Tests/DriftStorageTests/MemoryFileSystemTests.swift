import Testing
@testable import DriftStorage

/// The crash model the recovery tests rely on, for writes into preallocated space: bytes
/// written after the last sync are what `CrashShape` says, laid over the durable file.
@Suite struct MemoryFileSystemTests {
    func preallocatedFile() throws -> (MemoryFileSystem, any FileHandle) {
        let fs = MemoryFileSystem()
        fs.preallocates = true
        try fs.createDirectory("/d")
        let f = try fs.open("/d/f", create: true)
        try fs.syncDirectory("/d")
        try f.write([1, 2, 3], at: 0)
        #expect(try f.preallocate(to: 16))
        try f.sync()
        try f.write([7, 8, 9, 10], at: 3)
        return (fs, f)
    }

    @Test func unsyncedWritesIntoPreallocatedSpaceSurviveAsTheCrashShapeSays() throws {
        let (fs, _) = try preallocatedFile()
        let zeros = [UInt8](repeating: 0, count: 9)
        #expect(fs.crashed(.missing).contents(of: "/d/f") == [1, 2, 3, 0, 0, 0, 0] + zeros)
        #expect(fs.crashed(.zeroed).contents(of: "/d/f") == [1, 2, 3, 0, 0, 0, 0] + zeros)
        #expect(fs.crashed(.torn(keep: 2)).contents(of: "/d/f") == [1, 2, 3, 7, 8, 0, 0] + zeros)
        let garbage = fs.crashed(.garbage(seed: 1)).contents(of: "/d/f")!
        #expect(garbage.count == 16 && garbage[0..<3] == [1, 2, 3] && garbage[3..<7] != [0, 0, 0, 0] && garbage[7...].allSatisfy { $0 == 0 })
    }

    @Test func preallocationIsOffUnlessAsked() throws {
        let fs = MemoryFileSystem()
        try fs.createDirectory("/d")
        let f = try fs.open("/d/f", create: true)
        #expect(try !f.preallocate(to: 100))
        #expect(try f.size() == 0)
    }
}
