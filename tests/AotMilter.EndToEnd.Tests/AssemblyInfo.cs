using System.Runtime.Versioning;

// The harness runs real Postfix and Sendmail: Linux only.
[assembly: SupportedOSPlatform("linux")]
