using System.Collections.Concurrent;
using System.Text;
using AotMilter.Mta;
using AotMilter.Protocol;

namespace AotMilter.Server.Tests;

/// <summary>
/// What the test sees of its filters: every callback of every filter instance, in order, and the macros visible at
/// each. It also says what the filters decide. Shared by all instances the server creates.
/// </summary>
internal sealed class Probe
{
    private readonly ConcurrentQueue<(int Instance, string Text)> _events = new();
    private readonly ConcurrentQueue<string> _macros = new();
    private int _instances;

    /// <summary>Macro names looked up (and logged in <see cref="Macros"/>) at every callback.</summary>
    public string[] WatchedMacros { get; init; } = [];

    /// <summary>The verdict for an event, given its argument as text; may throw. Default: continue.</summary>
    public Func<MilterEvent, string, MilterContext, Verdict>? Decide { get; init; }

    /// <summary>What end of message does; may throw. Default: continue.</summary>
    public Func<MessageEditor, MilterContext, Verdict>? EndOfMessage { get; init; }

    /// <summary>What abort and close do besides being recorded (to make them throw).</summary>
    public Action<MilterEvent>? OnAbortOrClose { get; init; }

    /// <summary>Every callback as "event argument", across instances.</summary>
    public IReadOnlyList<string> Events => _events.Select(e => e.Text).ToArray();

    /// <summary>Macro look-ups as "event {name}=value" ("-" when absent).</summary>
    public IReadOnlyList<string> Macros => _macros.ToArray();

    /// <summary>Filter instances created so far.</summary>
    public int Instances => Volatile.Read(ref _instances);

    public IReadOnlyList<string> EventsOf(int instance) => _events.Where(e => e.Instance == instance).Select(e => e.Text).ToArray();

    public MilterRegistration Register(ProtocolFlags protocol = ProtocolFlags.None, ActionFlags actions = ActionFlags.None, string name = "probe")
        => new(name, "records every callback", typeof(RecordingFilter).FullName!, protocol, actions, () => new RecordingFilter(this));

    /// <summary>Waits until <paramref name="text"/> has been recorded (for callbacks that get no reply: abort, close).</summary>
    public async Task WaitForEventAsync(string text)
    {
        using var deadline = new CancellationTokenSource(MilterClient.DefaultTimeout);
        while (!Events.Contains(text))
        {
            try
            {
                await Task.Delay(10, deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"callback \"{text}\" never happened; recorded: {string.Join(" | ", Events)}");
            }
        }
    }

    internal int NextInstance() => Interlocked.Increment(ref _instances);

    internal void Record(int instance, MilterEvent e, string? argument, MilterContext context)
    {
        string name = e.ToString().ToLowerInvariant();
        _events.Enqueue((instance, argument is null ? name : $"{name} {argument}"));
        foreach (string macro in WatchedMacros)
        {
            _macros.Enqueue($"{name} {macro}={context.GetMacroString(macro) ?? "-"}");
        }
    }
}

/// <summary>A hand-written dispatcher (what the generator would emit) that reports every callback to a <see cref="Probe"/>.</summary>
internal sealed class RecordingFilter : FilterDispatcher
{
    private readonly Probe _probe;
    private readonly int _instance;

    public RecordingFilter(Probe probe)
    {
        _probe = probe;
        _instance = probe.NextInstance();
    }

    public override Verdict Connect(ConnectInfo info, MilterContext context)
        => On(MilterEvent.Connect, $"{info.HostNameString()} {info.Family} {info.Port} {info.Address.ToString()}", context);

    public override Verdict Helo(ReadOnlySpan<byte> name, MilterContext context) => On(MilterEvent.Helo, Encoding.UTF8.GetString(name), context);

    public override Verdict MailFrom(EnvelopeAddress sender, MilterContext context) => On(MilterEvent.MailFrom, Describe(sender), context);

    public override Verdict RcptTo(EnvelopeAddress recipient, MilterContext context) => On(MilterEvent.RcptTo, Describe(recipient), context);

    public override Verdict Data(MilterContext context) => On(MilterEvent.Data, null, context);

    public override Verdict Header(HeaderField header, MilterContext context)
        => On(MilterEvent.Header, $"{header.NameString()}: {header.ValueString()}", context);

    public override Verdict EndOfHeaders(MilterContext context) => On(MilterEvent.EndOfHeaders, null, context);

    public override Verdict Body(ReadOnlySpan<byte> chunk, MilterContext context) => On(MilterEvent.Body, $"{chunk.Length} bytes", context);

    public override Verdict Unknown(ReadOnlySpan<byte> command, MilterContext context) => On(MilterEvent.Unknown, Encoding.UTF8.GetString(command), context);

    public override Verdict EndOfMessage(MessageEditor editor, MilterContext context)
    {
        _probe.Record(_instance, MilterEvent.EndOfMessage, null, context);
        return _probe.EndOfMessage?.Invoke(editor, context) ?? Verdict.Continue;
    }

    public override void Abort(MilterContext context)
    {
        _probe.Record(_instance, MilterEvent.Abort, null, context);
        _probe.OnAbortOrClose?.Invoke(MilterEvent.Abort);
    }

    public override void Close(MilterContext context)
    {
        _probe.Record(_instance, MilterEvent.Close, null, context);
        _probe.OnAbortOrClose?.Invoke(MilterEvent.Close);
    }

    private Verdict On(MilterEvent e, string? argument, MilterContext context)
    {
        _probe.Record(_instance, e, argument, context);
        return _probe.Decide?.Invoke(e, argument ?? "", context) ?? Verdict.Continue;
    }

    private static string Describe(EnvelopeAddress address)
    {
        var text = new StringBuilder(Encoding.UTF8.GetString(address.Raw));
        foreach (ReadOnlySpan<byte> argument in address.Arguments)
        {
            text.Append(' ').Append(Encoding.UTF8.GetString(argument));
        }

        return text.ToString();
    }
}
