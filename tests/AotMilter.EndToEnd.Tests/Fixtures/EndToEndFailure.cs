namespace AotMilter.EndToEnd.Tests.Fixtures;

/// <summary>A failed end-to-end check, with the MTA's log and the milter's output appended to the original message.</summary>
public sealed class EndToEndFailure(string message, Exception inner) : Exception(message, inner)
{
    public override string? StackTrace => InnerException?.StackTrace;
}
