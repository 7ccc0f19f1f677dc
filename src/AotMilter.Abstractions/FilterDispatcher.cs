namespace AotMilter;

/// <summary>
/// The generated bridge between the connection and one filter instance. The generator emits one sealed subclass
/// per [Milter] class, overriding exactly the events the filter handles; the connection calls these methods with
/// no reflection, delegates or boxing. One instance serves one SMTP connection.
/// </summary>
public abstract class FilterDispatcher
{
    public virtual Verdict Connect(ConnectInfo info, MilterContext context) => Verdict.Continue;

    public virtual Verdict Helo(ReadOnlySpan<byte> name, MilterContext context) => Verdict.Continue;

    public virtual Verdict MailFrom(EnvelopeAddress sender, MilterContext context) => Verdict.Continue;

    public virtual Verdict RcptTo(EnvelopeAddress recipient, MilterContext context) => Verdict.Continue;

    public virtual Verdict Data(MilterContext context) => Verdict.Continue;

    public virtual Verdict Header(HeaderField header, MilterContext context) => Verdict.Continue;

    public virtual Verdict EndOfHeaders(MilterContext context) => Verdict.Continue;

    public virtual Verdict Body(ReadOnlySpan<byte> chunk, MilterContext context) => Verdict.Continue;

    public virtual Verdict EndOfMessage(MessageEditor editor, MilterContext context) => Verdict.Continue;

    public virtual Verdict Unknown(ReadOnlySpan<byte> command, MilterContext context) => Verdict.Continue;

    public virtual void Abort(MilterContext context)
    {
    }

    public virtual void Close(MilterContext context)
    {
    }
}
