using System.Reflection;
using AotMilter.Protocol;

namespace AotMilter.Generators.Tests;

/// <summary>CancellationToken parameters: bound to MilterContext.CallbackAborted in every callback, at any position.</summary>
public class CallbackAbortedTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public void EveryCallbackPassesCallbackAbortedForItsTokenWhereverTheParameterStands()
    {
        GeneratorRun run = TestCompiler.Run(TestCompiler.CreateCompilation(Samples.Aborting));

        Assert.Empty(run.GeneratorDiagnostics);
        Assert.Empty(run.AllProblems);
        string source = run.Source("Samples.AbortingFilter.Milter.g.cs");
        Assert.Equal(12, source.Split("context.CallbackAborted").Length - 1);
        Assert.Contains("=> _filter.Connect(context.CallbackAborted);", source, StringComparison.Ordinal);
        Assert.Contains("=> _filter.MailFrom(context.CallbackAborted, sender.Address.ToString(), context);", source, StringComparison.Ordinal);
        Assert.Contains("=> ObservedCallback.Continue(_filter.RcptTo(context, context.CallbackAborted));", source, StringComparison.Ordinal);
        Assert.Contains("=> _filter.EndOfMessage(editor, context.CallbackAborted);", source, StringComparison.Ordinal);
        Assert.Contains("=> _filter.Close(context.CallbackAborted);", source, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EachCallbackReceivesTheTokenOfItsContext()
    {
        using Loaded loaded = Loaded.Library("Aborting", Samples.Aborting);
        FilterDispatcher d = loaded.Registration("Aborting", "aborting").CreateDispatcher();
        MilterContext context = HostSide.CreateContext();

        Assert.True((await d.ConnectAsync(default, context)).IsContinue);
        Assert.True((await d.HeloAsync("client"u8, context)).IsContinue);
        Assert.True((await d.MailFromAsync(new EnvelopeAddress("<s@example.com>"u8, default), context)).IsContinue);
        Assert.True((await d.RcptToAsync(new EnvelopeAddress("<r@example.com>"u8, default), context)).IsContinue);
        Assert.True((await d.HeaderAsync(new HeaderField("Subject"u8, " hi"u8), context)).IsContinue);
        Assert.True((await d.EndOfHeadersAsync(context)).IsContinue);
        Assert.True((await d.BodyAsync("chunk"u8, context)).IsContinue);
        Assert.True((await d.EndOfMessageAsync(HostSide.CreateEditor(ActionFlags.None), context)).IsContinue);
        Assert.True((await d.UnknownAsync("XYZZY"u8, context)).IsContinue);
        await d.AbortAsync(context);
        await d.CloseAsync(context);

        List<CancellationToken> tokens = Tokens(d);
        Assert.Equal(11, tokens.Count);
        Assert.All(tokens, token => Assert.Equal(context.CallbackAborted, token));
    }

    [Fact]
    public async Task ACallbackWaitingOnItsTokenEndsWhenTheCallbackIsAborted()
    {
        using Loaded loaded = Loaded.Library("Aborting", Samples.Aborting);
        FilterDispatcher d = loaded.Registration("Aborting", "aborting").CreateDispatcher();
        MilterContext context = HostSide.CreateContext();

        // Data awaits Task.Delay(Timeout.Infinite, token): only the token can end it.
        Task<Verdict> waiting = d.DataAsync(context).AsTask();
        Assert.False(waiting.IsCompleted);

        HostSide.AbortCallback(context);

        OperationCanceledException e = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(s_timeout));
        Assert.Equal(context.CallbackAborted, e.CancellationToken);
        Assert.Equal(context.CallbackAborted, Assert.Single(Tokens(d)));
    }

    /// <summary>The sample's record of the tokens it was given (AbortingFilter.Tokens, through the dispatcher's private field).</summary>
    private static List<CancellationToken> Tokens(FilterDispatcher d)
    {
        object filter = d.GetType().GetField("_filter", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(d)!;
        return (List<CancellationToken>)filter.GetType().GetProperty("Tokens")!.GetValue(filter)!;
    }
}
