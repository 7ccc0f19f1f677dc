using AotMilter.Protocol;

namespace AotMilter.Generators.Model;

/// <summary>The macros the filter reads at one stage, names normalised ("i", "{auth_authen}") and sorted ordinally.</summary>
internal sealed record MacroRequestModel(MacroStage Stage, EquatableArray<string> Names);
