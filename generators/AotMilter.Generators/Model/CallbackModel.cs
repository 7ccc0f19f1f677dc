namespace AotMilter.Generators.Model;

/// <summary>One handled event: the filter method to call and what to pass it, in the method's parameter order.</summary>
/// <param name="Observes">True when the method returns void or ValueTask: it cannot decide, so the MTA is told not to wait.</param>
/// <param name="IsAsync">True when the method returns ValueTask or ValueTask&lt;Verdict&gt;: the dispatcher overrides the …Async method.</param>
internal sealed record CallbackModel(MilterEvent Kind, string MethodName, EquatableArray<ParameterModel> Parameters, bool Observes, bool IsAsync);
