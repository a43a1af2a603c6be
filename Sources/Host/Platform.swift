#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func isTerminal(_ fd: Int32) -> Bool { isatty(fd) != 0 }

func flushStdout() { fflush(nil) }

/// Writes bytes to file descriptor 2.
func writeStandardError(_ s: String) {
    var s = s
    s.withUTF8 { buf in
        var done = 0
        while done < buf.count {
            let n = write(2, buf.baseAddress! + done, buf.count - done)
            if n <= 0 { break }
            done += n
        }
    }
}
