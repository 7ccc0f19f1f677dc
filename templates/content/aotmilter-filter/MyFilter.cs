using AotMilter;

namespace MyFilters;

/// <summary>
/// Marks every message with an "X-my-filter: checked" header. Each method marked with an event attribute handles
/// that event; its parameters are bound by type. One instance serves one SMTP connection.
/// </summary>
[Milter("my-filter", Description = "Marks every message with a header")]
public sealed class MyFilter
{
    [OnEndOfMessage]
    public Verdict End(MessageEditor editor)
    {
        editor.AddHeader("X-my-filter", "checked");
        return Verdict.Continue;
    }
}
