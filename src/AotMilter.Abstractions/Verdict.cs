namespace AotMilter;

/// <summary>
/// A callback's decision, optionally with a custom SMTP reply. A plain struct: returning one allocates nothing.
/// </summary>
public readonly struct Verdict : IEquatable<Verdict>
{
    private Verdict(VerdictKind kind, SmtpReply? reply)
    {
        Kind = kind;
        Reply = reply;
    }

    public VerdictKind Kind { get; }

    /// <summary>The custom reply sent with a reject or tempfail, or null for the MTA's default text.</summary>
    public SmtpReply? Reply { get; }

    public static Verdict Continue => default;

    public static Verdict Accept => new(VerdictKind.Accept, null);

    public static Verdict Reject => new(VerdictKind.Reject, null);

    public static Verdict TempFail => new(VerdictKind.TempFail, null);

    public static Verdict Discard => new(VerdictKind.Discard, null);

    public static Verdict Skip => new(VerdictKind.Skip, null);

    /// <summary>Reject with a 5xx reply.</summary>
    /// <exception cref="ArgumentException">The reply is not 5xx.</exception>
    public static Verdict RejectWith(SmtpReply reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        if (reply.IsTransient)
        {
            throw new ArgumentException($"reject needs a 5xx reply, not {reply.Code}", nameof(reply));
        }

        return new Verdict(VerdictKind.Reject, reply);
    }

    /// <summary>Fail temporarily with a 4xx reply.</summary>
    /// <exception cref="ArgumentException">The reply is not 4xx.</exception>
    public static Verdict TempFailWith(SmtpReply reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        if (!reply.IsTransient)
        {
            throw new ArgumentException($"tempfail needs a 4xx reply, not {reply.Code}", nameof(reply));
        }

        return new Verdict(VerdictKind.TempFail, reply);
    }

    /// <summary>Reject or tempfail, as the reply's class says (4xx or 5xx).</summary>
    public static Verdict From(SmtpReply reply)
        => reply.IsTransient ? TempFailWith(reply) : RejectWith(reply);

    public bool IsContinue => Kind == VerdictKind.Continue;

    public bool Equals(Verdict other) => Kind == other.Kind && ReferenceEquals(Reply, other.Reply);

    public override bool Equals(object? obj) => obj is Verdict v && Equals(v);

    public override int GetHashCode() => HashCode.Combine(Kind, Reply);

    public static bool operator ==(Verdict left, Verdict right) => left.Equals(right);

    public static bool operator !=(Verdict left, Verdict right) => !left.Equals(right);

    public override string ToString() => Reply is null ? Kind.ToString().ToLowerInvariant() : $"{Kind.ToString().ToLowerInvariant()} ({Reply})";
}
