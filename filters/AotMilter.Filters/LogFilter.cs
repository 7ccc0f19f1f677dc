using System.Buffers;
using Microsoft.Extensions.Logging;

namespace AotMilter.Filters;

/// <summary>
/// The classic example filter: logs every event with its arguments at Information level, and marks each message
/// with "X-AotMilter: &lt;version&gt;". Every callback but end of message only observes (returns void), so the MTA is
/// told not to wait for replies. A few macros come in through [Macro] parameters, which also makes the MTA send them:
/// the receiving daemon's name at connect, the SMTP AUTH login at MAIL FROM and the queue id at end of message.
/// Nothing is converted to text unless Information is enabled. Every value from the client or the MTA goes through
/// <see cref="LogText"/>: control characters escaped, so that a CR or LF cannot start a forged line, and at most
/// <see cref="LogText.MaxValueBytes"/> bytes of it shown, so that a header of a megabyte is not a megabyte of log.
/// </summary>
[Milter("log", Description = "Logs every milter event with its arguments and adds X-AotMilter to each message")]
public sealed class LogFilter : IResettableFilter
{
    private const string VersionHeader = "X-AotMilter";

    [OnConnect]
    public void Connect(ConnectInfo info, [Macro("{daemon_name}")] ReadOnlySpan<byte> daemonName, MilterContext context)
    {
        if (context.Logger.IsEnabled(LogLevel.Information))
        {
            LogFilterLog.Connect(context.Logger, context.ConnectionId, LogText.Escape(info.HostName), LogText.Escape(info.Address.Bytes), info.Port, info.Family, OrDash(daemonName));
        }
    }

    [OnHelo]
    public void Helo(ReadOnlySpan<byte> name, MilterContext context)
    {
        if (context.Logger.IsEnabled(LogLevel.Information))
        {
            LogFilterLog.Helo(context.Logger, context.ConnectionId, LogText.Escape(name));
        }
    }

    [OnMailFrom]
    public void MailFrom(EnvelopeAddress sender, [Macro("{auth_authen}")] ReadOnlySpan<byte> login, MilterContext context)
    {
        if (context.Logger.IsEnabled(LogLevel.Information))
        {
            LogFilterLog.MailFrom(context.Logger, context.ConnectionId, LogText.Escape(sender.Address.Bytes), Arguments(sender), OrDash(login));
        }
    }

    [OnRcptTo]
    public void RcptTo(EnvelopeAddress recipient, MilterContext context)
    {
        if (context.Logger.IsEnabled(LogLevel.Information))
        {
            LogFilterLog.RcptTo(context.Logger, context.ConnectionId, LogText.Escape(recipient.Address.Bytes), Arguments(recipient));
        }
    }

    [OnData]
    public void Data(MilterContext context) => LogFilterLog.Data(context.Logger, context.ConnectionId);

    [OnHeader]
    public void Header(HeaderField header, MilterContext context)
    {
        if (context.Logger.IsEnabled(LogLevel.Information))
        {
            LogFilterLog.Header(context.Logger, context.ConnectionId, LogText.Escape(header.Name), LogText.Escape(header.Value));
        }
    }

    [OnEndOfHeaders]
    public void EndOfHeaders(MilterContext context) => LogFilterLog.EndOfHeaders(context.Logger, context.ConnectionId);

    [OnBody]
    public void Body(ReadOnlySpan<byte> chunk, MilterContext context) => LogFilterLog.Body(context.Logger, context.ConnectionId, chunk.Length);

    [OnEndOfMessage]
    public Verdict EndOfMessage(MessageEditor editor, [Macro("i")] ReadOnlySpan<byte> queueId, MilterContext context)
    {
        string version = AotMilterVersion.Current;
        if (context.Logger.IsEnabled(LogLevel.Information))
        {
            LogFilterLog.EndOfMessage(context.Logger, context.ConnectionId, OrDash(queueId), VersionHeader, version);
        }

        editor.AddHeader(VersionHeader, version);
        return Verdict.Continue;
    }

    [OnAbort]
    public void Abort(MilterContext context) => LogFilterLog.Abort(context.Logger, context.ConnectionId);

    [OnClose]
    public void Close(MilterContext context) => LogFilterLog.Close(context.Logger, context.ConnectionId);

    [OnUnknown]
    public void Unknown(ReadOnlySpan<byte> command, MilterContext context)
    {
        if (context.Logger.IsEnabled(LogLevel.Information))
        {
            LogFilterLog.Unknown(context.Logger, context.ConnectionId, LogText.Escape(command));
        }
    }

    /// <summary>A macro value as text, or "-" when the MTA did not send it.</summary>
    private static string OrDash(ReadOnlySpan<byte> value) => value.IsEmpty ? "-" : LogText.Escape(value);

    /// <summary>
    /// The ESMTP arguments as one space-separated string ("" when there are none), escaped and shortened as one value:
    /// a line stays bounded however many arguments the client sends.
    /// </summary>
    private static string Arguments(EnvelopeAddress address)
    {
        int length = -1;
        foreach (ReadOnlySpan<byte> argument in address.Arguments)
        {
            length += argument.Length + 1;
        }

        if (length <= 0)
        {
            return "";
        }

        // Pooled only up to 64 KiB: the shared pool keeps what it is given, and a frame's worth would stay in it.
        bool pooled = length <= 64 * 1024;
        byte[] joined = pooled ? ArrayPool<byte>.Shared.Rent(length) : GC.AllocateUninitializedArray<byte>(length);
        try
        {
            int at = 0;
            foreach (ReadOnlySpan<byte> argument in address.Arguments)
            {
                if (at > 0)
                {
                    joined[at++] = (byte)' ';
                }

                argument.CopyTo(joined.AsSpan(at));
                at += argument.Length;
            }

            return LogText.Escape(joined.AsSpan(0, at));
        }
        finally
        {
            if (pooled)
            {
                ArrayPool<byte>.Shared.Return(joined);
            }
        }
    }

    /// <summary>Nothing to reset: the instance keeps no state between events.</summary>
    public bool TryReset() => true;
}
