namespace AotMilter.Generators.Model;

/// <summary>One handled event: the filter method to call and what to pass it, in the method's parameter order.</summary>
internal sealed record CallbackModel(CallbackKind Kind, string MethodName, EquatableArray<ParameterKind> Parameters, bool ReturnsVoid);
