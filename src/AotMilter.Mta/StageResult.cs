namespace AotMilter.Mta;

/// <summary>
/// What happened at one stage: the milter's answer (<see cref="Reply"/>; null when the MTA did not ask, see
/// <see cref="NotSentBecause"/>) and, when that answer changes what the SMTP client sees, the reply the MTA gives
/// (<see cref="Smtp"/>; for a decision at connect or HELO the client may only see it at a later command).
/// </summary>
public sealed record StageResult(MilterEvent Stage, string? Argument, MilterReply? Reply, SmtpResponse? Smtp, string? NotSentBecause = null)
{
    /// <summary>True when the MTA sent the event to the milter.</summary>
    public bool Sent => Reply is not null;

    public override string ToString()
    {
        string what = Argument is null ? Stage.ToString() : $"{Stage} {Argument}";
        string reply = Reply is null ? $"not sent ({NotSentBecause})" : Reply.ToString();
        return Smtp is null ? $"{what}: {reply}" : $"{what}: {reply} -> {Smtp.At}: {Smtp}";
    }
}
