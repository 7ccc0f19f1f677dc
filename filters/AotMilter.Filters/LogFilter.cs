using System.Text;
using Microsoft.Extensions.Logging;

namespace AotMilter.Filters;

/// <summary>
/// The classic example filter: logs every event with its arguments at Information level, and marks each message
/// with "X-AotMilter: &lt;version&gt;". Every callback but end of message only observes (returns void), so the MTA is
/// told not to wait for replies. A few macros come in through [Macro] parameters, which also makes the MTA send them:
/// the receiving daemon's name at connect, the SMTP AUTH login at MAIL FROM and the queue id at end of message.
/// Nothing is converted to text unless Information is enabled.
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
            LogFilterLog.Connect(context.Logger, context.ConnectionId, info.HostNameString(), info.AddressString(), info.Port, info.Family, OrDash(daemonName));
        }
    }

    [OnHelo]
    public void Helo(ReadOnlySpan<byte> name, MilterContext context)
    {
        if (context.Logger.IsEnabled(LogLevel.Information))
        {
            LogFilterLog.Helo(context.Logger, context.ConnectionId, Encoding.UTF8.GetString(name));
        }
    }

    [OnMailFrom]
    public void MailFrom(EnvelopeAddress sender, [Macro("{auth_authen}")] ReadOnlySpan<byte> login, MilterContext context)
    {
        if (context.Logger.IsEnabled(LogLevel.Information))
        {
            LogFilterLog.MailFrom(context.Logger, context.ConnectionId, sender.AddressString(), Arguments(sender), OrDash(login));
        }
    }

    [OnRcptTo]
    public void RcptTo(EnvelopeAddress recipient, MilterContext context)
    {
        if (context.Logger.IsEnabled(LogLevel.Information))
        {
            LogFilterLog.RcptTo(context.Logger, context.ConnectionId, recipient.AddressString(), Arguments(recipient));
        }
    }

    [OnData]
    public void Data(MilterContext context) => LogFilterLog.Data(context.Logger, context.ConnectionId);

    [OnHeader]
    public void Header(HeaderField header, MilterContext context)
    {
        if (context.Logger.IsEnabled(LogLevel.Information))
        {
            LogFilterLog.Header(context.Logger, context.ConnectionId, header.NameString(), header.ValueString());
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
            LogFilterLog.Unknown(context.Logger, context.ConnectionId, Encoding.UTF8.GetString(command));
        }
    }

    /// <summary>A macro value as text, or "-" when the MTA did not send it.</summary>
    private static string OrDash(ReadOnlySpan<byte> value) => value.IsEmpty ? "-" : Encoding.UTF8.GetString(value);

    /// <summary>The ESMTP arguments as one space-separated string ("" when there are none).</summary>
    private static string Arguments(EnvelopeAddress address)
    {
        StringBuilder? text = null;
        foreach (ReadOnlySpan<byte> argument in address.Arguments)
        {
            text ??= new StringBuilder();
            if (text.Length > 0)
            {
                text.Append(' ');
            }

            text.Append(Encoding.UTF8.GetString(argument));
        }

        return text?.ToString() ?? "";
    }

    /// <summary>Nothing to reset: the instance keeps no state between events.</summary>
    public bool TryReset() => true;
}
