using AotMilter.Protocol;

namespace AotMilter;

/// <summary>The macros a filter reads at one stage, which the negotiation asks the MTA to send (SETSYMLIST).</summary>
public sealed record MacroRequest(MacroStage Stage, IReadOnlyList<string> Names);
