using System.Text;
using AotMilter.Filters.Mime;
using AotMilter.Filters.Tests.Infrastructure;
using AotMilter.Mta;
using AotMilter.Server;
using AotMilter.Testing;

namespace AotMilter.Filters.Tests;

/// <summary>
/// The bundled filters' body buffers count against the daemon's memory budget (--max-memory): beyond their 64 KiB
/// working size they reserve first, give back at the end of the message, and a body that does not fit is handled as
/// the filter's nature says (rules: tempfail, never judged on part of it; disclaimer: passes unchanged), logged.
/// </summary>
public class FilterMemoryBudgetTests
{
    private const long Budget = 2 * 1024 * 1024;

    [Fact]
    public void ABodyBufferReservesBeyondItsWorkingSizeAndGivesItBackAtReset()
    {
        var budget = new MemoryBudget(Budget);
        var buffer = new BodyBuffer(8 * 1024 * 1024);
        byte[] chunk = new byte[64 * 1024];

        buffer.Append(chunk, budget);
        Assert.Equal(0, budget.Used);
        buffer.Append(chunk, budget);
        Assert.Equal(128 * 1024, budget.Used);
        for (int i = 0; i < 14; i++)
        {
            buffer.Append(chunk, budget);
        }

        // 1 MiB collected: growing to 2 MiB needs 2 MiB more while the 1 MiB is still held; it does not fit.
        Assert.Equal(1024 * 1024, budget.Used);
        buffer.Append(chunk, budget);
        Assert.True(buffer.Overflowed);
        Assert.True(buffer.OverBudget);
        Assert.Equal(1024 * 1024, buffer.Length);
        Assert.Equal(17 * 64 * 1024, buffer.TotalLength);

        buffer.Reset();
        Assert.Equal(0, budget.Used);
        Assert.False(buffer.OverBudget);
    }

    [Fact]
    public async Task RulesTempfailABodyTheBudgetCannotHoldAndJudgeTheNextOneNormally()
    {
        const string config = "[rules]\nmax-body-scan = 8M\nbody = \"wire transfer\" reject \"550 5.7.1 No\"\n";
        await using FilterHost host = FilterHost.StartWithBudget(config, Budget, "rules");
        await using MilterClient mta = await host.ConnectAsync();

        EndOfMessageResult? big = await mta.SendMessageAsync("a@example.net", ["b@example.org"], Message(3 * 1024 * 1024, "wire transfer"));
        Assert.Equal("replycode \"451 4.3.1 Insufficient system resources, try again later\"", big!.Reply.ToString());
        Assert.Contains(host.Logs.Lines, l => l.Contains("memory budget (--max-memory) had no room for more of the body", StringComparison.Ordinal));
        await NothingReservedAsync(host);

        EndOfMessageResult? fits = await mta.SendMessageAsync("a@example.net", ["b@example.org"], Message(512 * 1024, "wire transfer"));
        Assert.Equal("replycode \"550 5.7.1 No\"", fits!.Reply.ToString());
        await NothingReservedAsync(host);
    }

    [Fact]
    public async Task TheDisclaimerPassesABodyTheBudgetCannotHoldUnchangedAndSaysWhy()
    {
        const string config = "[disclaimer]\nsenders = example.net\ntext = Confidential.\nmax-message-size = 8M\n";
        await using FilterHost host = FilterHost.StartWithBudget(config, Budget, "disclaimer");
        await using MilterClient mta = await host.ConnectAsync();

        (List<KeyValuePair<string, string>> headers, byte[] body) = MessageFile.Split(Message(3 * 1024 * 1024, "hello"));
        EndOfMessageResult big = (await mta.SendWithQueueIdAsync("a@example.net", "b@example.org", headers, body, "4QID8"))!;
        Assert.Equal(MilterReply.Continue, big.Reply);
        Assert.Empty(big.Modifications);
        Assert.Contains(host.Logs.Lines, l => l.Contains("no disclaimer for 4QID8: the daemon's memory budget (--max-memory) had no room for the body", StringComparison.Ordinal));

        (headers, body) = MessageFile.Split(Message(256 * 1024, "hello"));
        EndOfMessageResult fits = (await mta.SendWithQueueIdAsync("a@example.net", "b@example.org", headers, body, "4QID9"))!;
        Assert.Contains(fits.Modifications, m => m is Modification.ReplaceBody);
        await NothingReservedAsync(host);
    }

    /// <summary>
    /// Waits until nothing is reserved: the filter gave its buffer back at the end of the message; the connection's
    /// receive buffer, grown for the 64 KiB body chunks, goes back at its next idle tick.
    /// </summary>
    private static async Task NothingReservedAsync(FilterHost host)
    {
        using var deadline = new CancellationTokenSource(MilterClient.DefaultTimeout);
        while (host.Server.Budget.Used != 0)
        {
            await Task.Delay(10, deadline.Token);
        }
    }

    /// <summary>A plain-text message of about <paramref name="size"/> bytes that mentions <paramref name="phrase"/> at its end.</summary>
    private static byte[] Message(int size, string phrase)
    {
        var text = new StringBuilder("Subject: test\nContent-Type: text/plain\n\n");
        while (text.Length < size)
        {
            text.Append("All work and no play makes Jack a dull boy, all work and no play.\n");
        }

        text.Append(phrase).Append('\n');
        return Encoding.ASCII.GetBytes(text.ToString());
    }
}
