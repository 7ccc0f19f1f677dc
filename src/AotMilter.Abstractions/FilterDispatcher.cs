namespace AotMilter;

/// <summary>
/// The generated bridge between the connection and one filter instance. The generator emits one sealed subclass
/// per [Milter] class, overriding exactly the events the filter handles; the connection calls these methods with
/// no reflection, delegates or boxing. One instance serves one SMTP connection.
/// <para>
/// The connection calls the <c>…Async</c> methods. For a synchronous callback the generator overrides the plain
/// method and the base class wraps its result in a completed <see cref="ValueTask{TResult}"/> (no allocation); for a
/// callback that returns a ValueTask the generator overrides the <c>…Async</c> method itself. Span arguments are
/// valid only until the callback returns or first awaits: the generated code copies what an async callback keeps.
/// </para>
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

    /// <summary>Makes the filter as new for another connection (see <see cref="IResettableFilter"/>); false: it cannot be.</summary>
    public virtual bool TryReset() => false;

    public virtual void Close(MilterContext context)
    {
    }

    public virtual ValueTask<Verdict> ConnectAsync(ConnectInfo info, MilterContext context) => new(Connect(info, context));

    public virtual ValueTask<Verdict> HeloAsync(ReadOnlySpan<byte> name, MilterContext context) => new(Helo(name, context));

    public virtual ValueTask<Verdict> MailFromAsync(EnvelopeAddress sender, MilterContext context) => new(MailFrom(sender, context));

    public virtual ValueTask<Verdict> RcptToAsync(EnvelopeAddress recipient, MilterContext context) => new(RcptTo(recipient, context));

    public virtual ValueTask<Verdict> DataAsync(MilterContext context) => new(Data(context));

    public virtual ValueTask<Verdict> HeaderAsync(HeaderField header, MilterContext context) => new(Header(header, context));

    public virtual ValueTask<Verdict> EndOfHeadersAsync(MilterContext context) => new(EndOfHeaders(context));

    public virtual ValueTask<Verdict> BodyAsync(ReadOnlySpan<byte> chunk, MilterContext context) => new(Body(chunk, context));

    public virtual ValueTask<Verdict> EndOfMessageAsync(MessageEditor editor, MilterContext context) => new(EndOfMessage(editor, context));

    public virtual ValueTask<Verdict> UnknownAsync(ReadOnlySpan<byte> command, MilterContext context) => new(Unknown(command, context));

    public virtual ValueTask AbortAsync(MilterContext context)
    {
        Abort(context);
        return default;
    }

    public virtual ValueTask CloseAsync(MilterContext context)
    {
        Close(context);
        return default;
    }
}
