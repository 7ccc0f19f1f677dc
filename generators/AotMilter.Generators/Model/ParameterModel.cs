namespace AotMilter.Generators.Model;

/// <summary>One callback parameter: what it receives, and for a [Macro] parameter the macro's normalised name.</summary>
internal sealed record ParameterModel(ParameterKind Kind, string? MacroName = null);
