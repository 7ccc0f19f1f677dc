using AotMilter.Configuration;
using AotMilter.Protocol;
using AotMilter.Server;
using AotMilter.Server.Configuration;

namespace AotMilter.Fuzz;

/// <summary>
/// The <c>frames</c> target: one whole milter connection from the bytes an MTA sends. The input's first byte chooses
/// how the filters' callbacks complete (see <see cref="Mode"/>); the rest is the MTA's byte stream, split by the real
/// frame reader and handed to a <see cref="MilterSession"/> running a chain of bundled filters, the way
/// MilterConnection does: Process, and while a callback is pending CompletePendingAsync and Resume; after QUIT, bad
/// input or the end of the stream, CloseSessionAsync. A <see cref="MilterProtocolException"/> is how bad input ends a
/// connection; anything else that escapes is a bug. Every reply must itself be a well-formed frame.
/// </summary>
internal static class FramesTarget
{
    /// <summary>The chain's settings: small rules that words from the dictionary can trigger.</summary>
    public const string Config = """
        [policy]
        client = reject 203.0.113.0/24 2001:db8:bad::/48 reply="554 5.7.1 blocked"
        helo = reject localhost
        sender = reject @spam.example
        recipient = tempfail busy@example.com reply="450 4.2.1 busy"
        recipient = discard blackhole@example.com
        [limits]
        max-recipients = 3
        max-headers = 20
        max-header-line = 200
        max-message-size = 8K
        [rules]
        header = Subject /viagra/i reject "550 5.7.1 no spam"
        header = X-Spam-Flag YES quarantine "flagged" add-header X-Held yes
        body = "wire transfer" prefix-subject "[SUSPICIOUS] " bcc archive@example.com
        header = To old@example.com redirect new@example.com
        header = X-Mailer Bulk change-sender bounces@example.com
        [disclaimer]
        senders = example.org
        text = "--\nConfidential."
        """;

    /// <summary>The chain, in order; log first so that every event is negotiated and reaches the chain.</summary>
    public static readonly string[] FilterNames = ["log", "policy", "limits", "rules", "disclaimer"];

    private static readonly MilterServerOptions Options = new() { Socket = SocketSpec.Parse("unix:/dev/null") };
    private static readonly MilterServerOptions AlwaysReply = Options with { UseNoReplyFlags = false };
    private static readonly Deferrer Callbacks = new();
    private static readonly FilterChain Chain = new(Wrap(Registrations()), Settings(Registrations()));
    private static readonly MilterMetrics Metrics = new(Chain);

    /// <summary>Input byte 0. The rest of the byte is ignored, so any first byte is a valid mode.</summary>
    [Flags]
    private enum Mode : byte
    {
        /// <summary>Bits 0-4: filter i's callbacks do not complete synchronously (they complete on the next wait).</summary>
        DeferMask = 0x1f,

        /// <summary>A deferred callback fails with an exception instead of returning its verdict.</summary>
        Fail = 0x20,

        /// <summary>Ask for a reply to every event (--always-reply).</summary>
        AlwaysReply = 0x40,
    }

    /// <summary>The bundled filters of the chain, unwrapped (the seed capture runs them in a real server).</summary>
    public static MilterRegistration[] Registrations()
        => FilterNames.Select(n => Generated.AotMilter_Filters.MilterCatalog.Registrations.Single(r => r.Name == n)).ToArray();

    public static IReadOnlyList<object?> Settings(MilterRegistration[] chain)
    {
        SettingsLoadResult loaded = FilterSettingsLoader.Load(ConfigFile.Parse(Config, "frames.conf"), chain, chain);
        if (!loaded.IsValid)
        {
            throw new InvalidOperationException("the frames target's configuration is invalid: " + string.Join("; ", loaded.Errors));
        }

        return loaded.Settings;
    }

    public static void Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }

        var mode = (Mode)input[0];
        Callbacks.Configure((int)(mode & Mode.DeferMask), (mode & Mode.Fail) != 0);
        var session = new MilterSession(Chain, (mode & Mode.AlwaysReply) != 0 ? AlwaysReply : Options, FormattingLogger.Instance, FormattingLogger.Instance, 1, Metrics);
        var replies = new ByteBufferWriter(512);
        session.Attach(replies, progress: null);
        ReadOnlySpan<byte> stream = input[1..];
        try
        {
            while (!session.IsQuit && MilterFrameReader.TryReadFrame(stream, Options.MaxPacketSize, out MilterFrame frame, out int length))
            {
                bool done = session.Process(frame);
                while (!done)
                {
                    // As the connection does: start waiting first, then the callback completes.
                    Wait(session.CompletePendingAsync());
                    done = session.Resume(frame);
                }

                CheckReplies(replies.WrittenSpan);
                replies.Reset();
                stream = stream[length..];
            }
        }
        catch (MilterProtocolException)
        {
            // Bad input: the connection logs it and closes, below.
        }

        Wait(session.CloseSessionAsync());
        CheckReplies(replies.WrittenSpan);
    }

    /// <summary>Waits for the session, completing deferred callbacks one at a time until it goes on.</summary>
    private static void Wait(ValueTask pending)
    {
        Task task = pending.AsTask();
        while (!task.IsCompleted)
        {
            if (!Callbacks.CompleteOne())
            {
                task.Wait();
            }
        }

        task.GetAwaiter().GetResult();
    }

    private static void CheckReplies(ReadOnlySpan<byte> output)
    {
        while (!output.IsEmpty)
        {
            if (!MilterFrameReader.TryReadFrame(output, MilterFrameReader.MaxPayloadLimit, out MilterFrame reply, out int length))
            {
                throw new InvalidOperationException($"the session wrote a truncated reply frame ({output.Length} bytes left)");
            }

            if (!Enum.IsDefined((MilterResponse)reply.Command))
            {
                throw new InvalidOperationException($"the session wrote an unknown reply command 0x{reply.Command:x2}");
            }

            output = output[length..];
        }
    }

    private static MilterRegistration[] Wrap(MilterRegistration[] chain)
        => chain.Select((r, i) => new MilterRegistration(r.Name, r.Description, r.TypeName, r.Protocol, r.Actions, r.Macros,
            settings => new DeferringDispatcher(r.CreateDispatcher(settings), Callbacks, i),
            r.HasSettings ? section => r.ParseSettings(section)! : null)).ToArray();

    /// <summary>Holds back the results of the callbacks of the filters the mode names, to be completed by <see cref="Wait"/>.</summary>
    private sealed class Deferrer
    {
        private readonly Queue<Action> _held = new();
        private int _filters;
        private bool _fail;

        public void Configure(int filters, bool fail)
        {
            _held.Clear();
            _filters = filters;
            _fail = fail;
        }

        public bool CompleteOne()
        {
            if (!_held.TryDequeue(out Action? complete))
            {
                return false;
            }

            complete();
            return true;
        }

        public ValueTask<Verdict> Hold(int filter, ValueTask<Verdict> call)
        {
            if ((_filters & (1 << filter)) == 0)
            {
                return call;
            }

            var later = new TaskCompletionSource<Verdict>();
            Task<Verdict> result = call.AsTask();
            _held.Enqueue(() =>
            {
                if (_fail)
                {
                    later.SetException(new InvalidOperationException("deferred callback failed (fuzz mode)"));
                }
                else
                {
                    result.ContinueWith(t => later.SetFromTask(t), TaskContinuationOptions.ExecuteSynchronously);
                }
            });
            return new ValueTask<Verdict>(later.Task);
        }

        public ValueTask Hold(int filter, ValueTask call)
        {
            if ((_filters & (1 << filter)) == 0)
            {
                return call;
            }

            var later = new TaskCompletionSource();
            Task result = call.AsTask();
            _held.Enqueue(() =>
            {
                if (_fail)
                {
                    later.SetException(new InvalidOperationException("deferred callback failed (fuzz mode)"));
                }
                else
                {
                    result.ContinueWith(t => later.SetFromTask(t), TaskContinuationOptions.ExecuteSynchronously);
                }
            });
            return new ValueTask(later.Task);
        }
    }

    /// <summary>A filter's generated dispatcher whose results reach the session through the <see cref="Deferrer"/>.</summary>
    private sealed class DeferringDispatcher(FilterDispatcher inner, Deferrer deferrer, int index) : FilterDispatcher
    {
        public override ValueTask<Verdict> ConnectAsync(ConnectInfo info, MilterContext context) => deferrer.Hold(index, inner.ConnectAsync(info, context));

        public override ValueTask<Verdict> HeloAsync(ReadOnlySpan<byte> name, MilterContext context) => deferrer.Hold(index, inner.HeloAsync(name, context));

        public override ValueTask<Verdict> MailFromAsync(EnvelopeAddress sender, MilterContext context) => deferrer.Hold(index, inner.MailFromAsync(sender, context));

        public override ValueTask<Verdict> RcptToAsync(EnvelopeAddress recipient, MilterContext context) => deferrer.Hold(index, inner.RcptToAsync(recipient, context));

        public override ValueTask<Verdict> DataAsync(MilterContext context) => deferrer.Hold(index, inner.DataAsync(context));

        public override ValueTask<Verdict> HeaderAsync(HeaderField header, MilterContext context) => deferrer.Hold(index, inner.HeaderAsync(header, context));

        public override ValueTask<Verdict> EndOfHeadersAsync(MilterContext context) => deferrer.Hold(index, inner.EndOfHeadersAsync(context));

        public override ValueTask<Verdict> BodyAsync(ReadOnlySpan<byte> chunk, MilterContext context) => deferrer.Hold(index, inner.BodyAsync(chunk, context));

        public override ValueTask<Verdict> EndOfMessageAsync(MessageEditor editor, MilterContext context) => deferrer.Hold(index, inner.EndOfMessageAsync(editor, context));

        public override ValueTask<Verdict> UnknownAsync(ReadOnlySpan<byte> command, MilterContext context) => deferrer.Hold(index, inner.UnknownAsync(command, context));

        public override ValueTask AbortAsync(MilterContext context) => deferrer.Hold(index, inner.AbortAsync(context));

        public override ValueTask CloseAsync(MilterContext context) => deferrer.Hold(index, inner.CloseAsync(context));

        public override bool TryReset() => inner.TryReset();
    }
}
