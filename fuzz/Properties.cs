// The fuzzed server code is Linux-only, and so are afl++ and SharpFuzz's fork server.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
