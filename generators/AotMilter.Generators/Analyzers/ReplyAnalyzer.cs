using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace AotMilter.Generators.Analyzers;

/// <summary>
/// Checks, in a filter class's own code, the SMTP replies built from constants with SmtpReply.Create and Parse against
/// the rules SmtpReply applies at run time (AOTM022), and the class of the reply given to Verdict.RejectWith and
/// TempFailWith when it is built inline or read from a static readonly field so built (AOTM023).
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class ReplyAnalyzer() : FilterCodeAnalyzer(DiagnosticDescriptors.InvalidReply, DiagnosticDescriptors.ReplyClassMismatch)
{
    private protected override void Register(CompilationStartAnalysisContext start, KnownTypes known)
        => start.RegisterOperationAction(c => AnalyzeInvocation(c, known), OperationKind.Invocation);

    private static void AnalyzeInvocation(OperationAnalysisContext context, KnownTypes known)
    {
        var operation = (IInvocationOperation)context.Operation;
        IMethodSymbol target = operation.TargetMethod;
        bool reply = SymbolEqualityComparer.Default.Equals(target.ContainingType, known.SmtpReply);
        bool verdict = !reply
            && SymbolEqualityComparer.Default.Equals(target.ContainingType, known.Verdict)
            && target.Name is "RejectWith" or "TempFailWith"
            && operation.Arguments.Length == 1;
        if ((!reply && !verdict) || FilterSymbols.EnclosingFilters(context.ContainingSymbol).Count == 0)
        {
            return;
        }

        if (reply)
        {
            if (CheckReply(operation, out int? _) is { } error)
            {
                context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.InvalidReply, operation.Syntax.GetLocation(), error));
            }

            return;
        }

        CheckVerdictReply(context, target.Name, operation.Arguments[0], known);
    }

    /// <summary>Why a SmtpReply.Create/Parse call with constant arguments would throw (null when it would not, or when unknown); and its code when constant.</summary>
    private static string? CheckReply(IInvocationOperation operation, out int? code)
    {
        code = null;
        switch (operation.TargetMethod.Name)
        {
            case "Parse" when operation.Arguments.Length == 1:
                return operation.Arguments[0].Value.ConstantValue is { HasValue: true, Value: string reply }
                    ? SmtpReplyRules.ValidateParse(reply, out code)
                    : null;

            case "Create" when operation.Arguments.Length == 3:
                bool extendedCodeKnown = false;
                string? extendedCode = null;
                List<string?>? lines = null;
                foreach (IArgumentOperation argument in operation.Arguments)
                {
                    Optional<object?> constant = argument.Value.ConstantValue;
                    switch (argument.Parameter?.Ordinal)
                    {
                        case 0 when constant is { HasValue: true, Value: int value }:
                            code = value;
                            break;
                        case 1 when constant.HasValue:
                            extendedCodeKnown = true;
                            extendedCode = constant.Value as string;
                            break;
                        case 2:
                            lines = ConstantElements(argument.Value);
                            break;
                    }
                }

                return SmtpReplyRules.Validate(code, extendedCodeKnown, extendedCode, lines);

            default:
                return null;
        }
    }

    /// <summary>The elements of an array written in place (params, new[] { }, [ ]), null for the ones that are not constants; null when not written in place.</summary>
    private static List<string?>? ConstantElements(IOperation value)
    {
        value = WithoutConversions(value);
        IEnumerable<IOperation>? elements = value switch
        {
            IArrayCreationOperation { Initializer: { } initializer } => initializer.ElementValues,
            IArrayCreationOperation { DimensionSizes.Length: 1 } array when array.DimensionSizes[0].ConstantValue is { HasValue: true, Value: 0 } => [],
            ICollectionExpressionOperation collection => collection.Elements,
            _ => null,
        };
        if (elements is null)
        {
            return null;
        }

        var lines = new List<string?>();
        foreach (IOperation element in elements)
        {
            if (element is ISpreadOperation)
            {
                return null;
            }

            lines.Add(element.ConstantValue is { HasValue: true, Value: string line } ? line : null);
        }

        return lines;
    }

    /// <summary>Verdict.RejectWith wants a 5xx reply and TempFailWith a 4xx one: checks a reply whose code can be seen.</summary>
    private static void CheckVerdictReply(OperationAnalysisContext context, string verdict, IArgumentOperation argument, KnownTypes known)
    {
        IOperation given = WithoutConversions(argument.Value);
        int? code = null;
        string shown = "";
        if (given is IInvocationOperation inline && SymbolEqualityComparer.Default.Equals(inline.TargetMethod.ContainingType, known.SmtpReply))
        {
            CheckReply(inline, out code);
            shown = "reply code " + code;
        }
        else if (given is IFieldReferenceOperation { Field: { IsStatic: true, IsReadOnly: true } field }
            && SymbolEqualityComparer.Default.Equals(field.Type, known.SmtpReply))
        {
            foreach (SyntaxReference reference in field.DeclaringSyntaxReferences)
            {
                if (reference.GetSyntax(context.CancellationToken) is VariableDeclaratorSyntax { Initializer.Value: { } initializer }
                    && ModelFor(initializer, argument).GetOperation(initializer, context.CancellationToken) is { } value
                    && WithoutConversions(value) is IInvocationOperation creation
                    && SymbolEqualityComparer.Default.Equals(creation.TargetMethod.ContainingType, known.SmtpReply))
                {
                    CheckReply(creation, out code);
                }
            }

            shown = "'" + field.Name + "' (reply code " + code + ")";
        }

        bool wantsPermanent = verdict == "RejectWith";
        if (code is not { } c || c is < 400 or > 599 || (c >= 500) == wantsPermanent)
        {
            return;
        }

        context.ReportDiagnostic(Diagnostic.Create(
            DiagnosticDescriptors.ReplyClassMismatch,
            given.Syntax.GetLocation(),
            verdict,
            shown,
            wantsPermanent ? "4xx" : "5xx",
            wantsPermanent ? "5xx" : "4xx",
            wantsPermanent ? "TempFailWith" : "RejectWith"));
    }

    /// <summary>
    /// The model for the field's initializer. A field of another file (a shared reply class) needs that file's model,
    /// which an operation action is not given; asking the compilation once per such reference is the only way to it.
    /// </summary>
    private static SemanticModel ModelFor(SyntaxNode node, IOperation from)
        => node.SyntaxTree == from.SemanticModel!.SyntaxTree
            ? from.SemanticModel
#pragma warning disable RS1030 // see the summary: the initializer may be in a tree the operation's model does not cover
            : from.SemanticModel.Compilation.GetSemanticModel(node.SyntaxTree);
#pragma warning restore RS1030

    private static IOperation WithoutConversions(IOperation operation)
    {
        while (operation is IConversionOperation conversion)
        {
            operation = conversion.Operand;
        }

        return operation;
    }
}
