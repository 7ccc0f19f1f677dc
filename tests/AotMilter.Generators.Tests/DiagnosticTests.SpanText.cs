extern alias Generator;

using Microsoft.CodeAnalysis;

namespace AotMilter.Generators.Tests;

/// <summary>AOTM029: the text of a span of bytes asked of its ToString().</summary>
public partial class DiagnosticTests
{
    [Theory]
    [InlineData(
        "[OnHeader] public Verdict Header(HeaderField header) => header.Name.ToString() == \"Subject\" ? Verdict.Reject : Verdict.Continue;",
        "header.Name", "header.NameString()")]
    [InlineData(
        "[OnHeader] public void Header(HeaderField header) => Console.WriteLine(header.Value.ToString());",
        "header.Value", "header.ValueString()")]
    [InlineData(
        "[OnConnect] public Verdict Connect(ConnectInfo info) => info.HostName.ToString().EndsWith(\".example\") ? Verdict.Reject : Verdict.Continue;",
        "info.HostName", "info.HostNameString()")]
    [InlineData(
        "[OnHelo] public Verdict Helo(ReadOnlySpan<byte> name) => Check(name);\n    private static Verdict Check(ReadOnlySpan<byte> name) => name.ToString() == \"localhost\" ? Verdict.Reject : Verdict.Continue;",
        "name", "Encoding.UTF8.GetString(name)")]
    [InlineData(
        "[OnBody] public void Body(ReadOnlySpan<byte> chunk) { Span<byte> copy = stackalloc byte[4]; chunk[..4].CopyTo(copy); Func<string> later = () => \"x\"; _ = copy.ToString(); }",
        "copy", "Encoding.UTF8.GetString(copy)")]
    public void AOTM029WarnsAboutToStringOfASpanOfBytesInAFilterClass(string callback, string bytes, string instead)
    {
        GeneratorRun run = RunBroken($$"""
            [Milter("texts")]
            public sealed class Texts
            {
                {{callback}}
            }
            """);
        Diagnostic d = AssertOnlyId(run, "AOTM029");

        Assert.Equal(DiagnosticSeverity.Warning, d.Severity);
        Assert.Equal(
            $"'{bytes}' is a span of bytes: its ToString() gives its type and length (\"System.ReadOnlySpan<Byte>[n]\"), not its text; use {instead}, or compare the bytes without a string",
            d.GetMessage());
        Assert.Equal($"{bytes}.ToString()", run.Output.SyntaxTrees.First().GetText().ToString(d.Location.SourceSpan));
    }

    [Fact]
    public void TheTextOfBytesTakenAnotherWayOrToStringOfOtherTypesIsNotReported()
    {
        GeneratorRun run = RunBroken("""
            [Milter("careful")]
            public sealed class Careful
            {
                [OnConnect]
                public Verdict Connect(ConnectInfo info) => info.Address.ToString() == "192.0.2.1" || info.HostNameString() == "x" ? Verdict.Reject : Verdict.Continue;

                [OnHeader]
                public Verdict Header(HeaderField header)
                {
                    ReadOnlySpan<char> name = "Subject".AsSpan();
                    return header.NameString() == name.ToString() && System.Text.Encoding.UTF8.GetString(header.Value).Length > 0 ? Verdict.Reject : Verdict.Continue;
                }

                [OnMailFrom]
                public Verdict Mail(EnvelopeAddress sender) => sender.ToString() == "a@example.org" ? Verdict.Reject : Verdict.Continue;
            }

            public static class NotAFilter
            {
                public static string Describe(ReadOnlySpan<byte> bytes) => bytes.ToString();
            }
            """);

        Assert.Null(run.Result.Results[0].Exception);
        Assert.Empty(run.AllProblems);
    }
}
