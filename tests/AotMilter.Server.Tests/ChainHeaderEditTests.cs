using AotMilter.Mta;
using AotMilter.Protocol;
using AotMilter.Testing;

namespace AotMilter.Server.Tests;

/// <summary>A filter of a chain is shown the headers with the earlier filters' header edits applied, as Postfix applies them.</summary>
public class ChainHeaderEditTests
{
    private const ActionFlags HeaderActions = ActionFlags.AddHeaders | ActionFlags.ChangeHeaders;

    [Fact]
    public async Task AChainShowsTheSecondFilterAHeaderTheFirstInsertedAtItsIndex()
    {
        (EndOfMessageResult result, string[] shown) = await RunChainAsync(
            (editor, _) => { editor.InsertHeader(1, "X-Inserted", "here"); return Verdict.Continue; },
            ProtocolFlags.None,
            ("From", "a@example.org"), ("To", "b@example.org"), ("Subject", "hello"));

        Assert.Equal(MilterReply.Continue, result.Reply);
        Assert.Equal(["From: a@example.org", "X-Inserted: here", "To: b@example.org", "Subject: hello"], shown);
    }

    [Fact]
    public async Task AChainShowsTheSecondFilterTheSecondOccurrenceOfAHeaderChangedInPlace()
    {
        (EndOfMessageResult result, string[] shown) = await RunChainAsync(
            (editor, _) => { editor.ChangeHeader("x-tag", 2, "changed"); return Verdict.Continue; },
            ProtocolFlags.None,
            ("X-Tag", "one"), ("Subject", "hello"), ("X-Tag", "two"), ("X-Tag", "three"));

        Assert.Equal(MilterReply.Continue, result.Reply);
        Assert.Equal(["X-Tag: one", "Subject: hello", "x-tag: changed", "X-Tag: three"], shown);
    }

    [Fact]
    public async Task AChainShowsTheSecondFilterTheSecondOccurrenceOfAHeaderDeleted()
    {
        (EndOfMessageResult result, string[] shown) = await RunChainAsync(
            (editor, _) => { editor.DeleteHeader("X-Tag", 2); return Verdict.Continue; },
            ProtocolFlags.None,
            ("X-Tag", "one"), ("X-Tag", "two"), ("X-Tag", "three"));

        Assert.Equal(MilterReply.Continue, result.Reply);
        Assert.Equal(["X-Tag: one", "X-Tag: three"], shown);
    }

    [Fact]
    public async Task AChainShowsTheNextFilterHeaderValuesAsTheMtaGetsThemWithTheirLeadingSpaceAndLineFeedFolding()
    {
        (EndOfMessageResult result, string[] shown) = await RunChainAsync(
            (editor, _) =>
            {
                editor.AddHeader("X-Added", "value");
                editor.ChangeHeader("Subject", 1, "first\r\n\tsecond");
                return Verdict.Continue;
            },
            ProtocolFlags.HeaderLeadingSpace,
            ("Subject", " hello"));

        Assert.Equal(MilterReply.Continue, result.Reply);
        Assert.Equal([new Modification.AddHeader("X-Added", " value"), new Modification.ChangeHeader(1, "Subject", " first\n\tsecond")], result.Modifications);
        Assert.Equal(["Subject:  first\n\tsecond", "X-Added:  value"], shown);
    }

    [Fact]
    public async Task AChainDoesNotShowTheNextFilterTheHeaderEditsOfAFilterThatFailed()
    {
        (EndOfMessageResult result, string[] shown) = await RunChainAsync(
            (editor, _) =>
            {
                editor.AddHeader("X-Dropped", "added before the failure");
                editor.DeleteHeader("Subject");
                throw new InvalidDataException("boom");
            },
            ProtocolFlags.None,
            ("Subject", "hello"));

        Assert.Equal(MilterReply.Continue, result.Reply);
        Assert.Empty(result.Modifications);
        Assert.Equal(["Subject: hello"], shown);
    }

    /// <summary>
    /// Runs one message with <paramref name="headers"/> through a chain of two filters, the first editing at end of
    /// message (a failure falls back to continue); returns the MTA's result and the headers shown to the second.
    /// </summary>
    private static async Task<(EndOfMessageResult Result, string[] Shown)> RunChainAsync(
        Func<MessageEditor, MilterContext, Verdict> edit, ProtocolFlags protocol, params (string Name, string Value)[] headers)
    {
        var first = new Probe { EndOfMessage = edit };
        var second = new Probe();
        await using TestServer server = TestServer.Start(o => o with { FallbackVerdict = VerdictKind.Continue },
            first.Register(protocol, HeaderActions, "first"), second.Register(protocol, name: "second"));
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();

        await Transcript.RunUntilAsync(mta, MilterEvent.Data);
        foreach ((string name, string value) in headers)
        {
            Assert.Equal(MilterReply.Continue, await mta.HeaderAsync(name, value));
        }

        Assert.Equal(MilterReply.Continue, await mta.EndOfHeadersAsync());
        Assert.Equal(MilterReply.Continue, await mta.BodyAsync("Body.\r\n"));
        EndOfMessageResult result = await mta.EndOfMessageAsync();

        string[] shown = second.Events
            .Where(e => e.StartsWith("header ", StringComparison.Ordinal))
            .Select(e => e["header ".Length..])
            .ToArray();
        return (result, shown);
    }
}
